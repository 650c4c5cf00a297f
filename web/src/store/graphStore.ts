/**
 * The graph being edited: React Flow nodes/edges plus workflow metadata, every edit recorded
 * for undo/redo. Components call the methods; nothing else mutates the graph.
 */
import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange } from '@xyflow/react';
import { makeFrontendNode } from '../workflow/frontendNodes';
import { nodeSockets, type NodeDefs } from '../workflow/nodeDefs';
import { compatibleInput, compatibleOutput } from '../workflow/search';
import { applyControlsWithSubgraphs } from '../workflow/subgraphControls';
import { typesCompatible } from '../workflow/typeCompat';
import type { EditorGraph, EditorNode } from '../workflow/types';
import { copyNodes, pasteNodes, readClipboard, writeClipboard } from './clipboard';
import {
  type FlowEdge,
  type FlowNode,
  flowNodeToEditor,
  flowToGraph,
  type GraphMeta,
  type GroupNode,
  graphToFlow,
  groupBounding,
  groupToFlow,
  handleKey,
  inputHandle,
  isLgNode,
  type LgNode,
  linkToEdge,
  makeNode,
  nodeToFlow,
  settleResizes,
} from './flowModel';
import { UndoHistory } from './history';
import { Store } from './store';

export interface GraphState {
  defs: NodeDefs;
  nodes: FlowNode[];
  edges: FlowEdge[];
  meta: GraphMeta;
  canUndo: boolean;
  canRedo: boolean;
  /** Increases on every change of the workflow (for autosave). */
  revision: number;
}

type Snapshot = Pick<GraphState, 'nodes' | 'edges' | 'meta'>;

/** Everything of one open workflow the store holds: its graph, undo history and revision (for tabs). */
export interface GraphSession extends Snapshot {
  history: UndoHistory<Snapshot>;
  revision: number;
}

/** Where a link was dragged from when it was dropped on empty canvas. */
export interface PendingLink {
  nodeId: string;
  handleId: string;
  handleType: 'source' | 'target';
  type: string;
}

const emptyMeta = (): GraphMeta => ({ lastNodeId: 0, lastLinkId: 0, extra: {} });

export class GraphStore extends Store<GraphState> {
  private history = new UndoHistory<Snapshot>();
  private dragChildren = new Map<string, string[]>();
  private dragging = false;

  constructor() {
    super({ defs: {}, nodes: [], edges: [], meta: emptyMeta(), canUndo: false, canRedo: false, revision: 0 });
  }

  // ---- recording -------------------------------------------------------------------------
  private snapshot(): Snapshot {
    const { nodes, edges, meta } = this.get();
    return { nodes, edges, meta };
  }

  /** Applies `patch` as one undo step (edits kept in other modules, e.g. nodeEdits.ts, use it too). */
  commit(patch: Partial<Snapshot>, key?: string): void {
    this.history.record(this.snapshot(), key);
    this.set((s) => ({ ...patch, canUndo: this.history.canUndo, canRedo: this.history.canRedo, revision: s.revision + 1 }));
  }

  undo(): void {
    const prev = this.history.undo(this.snapshot());
    if (prev) this.set((s) => ({ ...prev, canUndo: this.history.canUndo, canRedo: this.history.canRedo, revision: s.revision + 1 }));
  }

  redo(): void {
    const next = this.history.redo(this.snapshot());
    if (next) this.set((s) => ({ ...next, canUndo: this.history.canUndo, canRedo: this.history.canRedo, revision: s.revision + 1 }));
  }

  /** The open workflow as a session, to be put back later with `restoreSession`. */
  saveSession(): GraphSession {
    return { ...this.snapshot(), history: this.history, revision: this.get().revision };
  }

  /** Makes `session` the open workflow (graph, undo history, revision); `null` = an empty canvas. */
  restoreSession(session: GraphSession | null): void {
    this.dragging = false;
    this.dragChildren.clear();
    this.history = session?.history ?? new UndoHistory<Snapshot>();
    const state = session ?? { nodes: [], edges: [], meta: emptyMeta(), revision: 0 };
    this.set({
      nodes: state.nodes,
      edges: state.edges,
      meta: state.meta,
      revision: state.revision,
      canUndo: this.history.canUndo,
      canRedo: this.history.canRedo,
    });
  }

  // ---- reading ---------------------------------------------------------------------------
  graph(): EditorGraph {
    const { nodes, edges, meta } = this.get();
    return flowToGraph(nodes, edges, meta);
  }

  node(id: string): EditorNode | undefined {
    const n = this.get().nodes.find((x) => x.id === id);
    return n && isLgNode(n) ? n.data.node : undefined;
  }

  // ---- whole graph -----------------------------------------------------------------------
  setDefs(defs: NodeDefs): void {
    this.set({ defs });
  }

  load(graph: EditorGraph): void {
    this.commit(graphToFlow(graph));
  }

  // ---- React Flow change streams ---------------------------------------------------------
  onNodesChange = (changes: NodeChange<FlowNode>[]): void => {
    const kept = changes.filter((c) => c.type !== 'remove' && c.type !== 'add' && c.type !== 'replace');
    if (kept.length === 0) return;
    const before = this.get().nodes;
    const moves = kept.filter((c): c is Extract<NodeChange<FlowNode>, { type: 'position' }> => c.type === 'position');
    if (!this.dragging && moves.some((c) => c.dragging)) {
      // A drag starts: one undo step for the whole drag, recorded before the first move.
      this.dragging = true;
      this.recordStep();
    }
    let nodes = settleResizes(applyNodeChanges(kept, before), kept);
    const moved = new Set(moves.map((c) => c.id));
    for (const c of moves) {
      const old = before.find((n) => n.id === c.id);
      if (!c.position || !old || old.type !== 'group') continue;
      let children = this.dragChildren.get(c.id);
      if (!children) {
        children = this.nodesInside(old as GroupNode, before);
        this.dragChildren.set(c.id, children);
      }
      const dx = c.position.x - old.position.x;
      const dy = c.position.y - old.position.y;
      nodes = nodes.map((n) =>
        children.includes(n.id) && !moved.has(n.id) ? { ...n, position: { x: n.position.x + dx, y: n.position.y + dy } } : n,
      );
    }
    if (moves.some((c) => c.dragging === false)) {
      this.dragging = false;
      this.dragChildren.clear();
    }
    const touchesWorkflow = moves.length > 0 || kept.some((c) => c.type === 'dimensions' && c.resizing);
    this.set((s) => ({ nodes, revision: touchesWorkflow ? s.revision + 1 : s.revision }));
  };

  onEdgesChange = (changes: EdgeChange<FlowEdge>[]): void => {
    const kept = changes.filter((c) => c.type === 'select');
    if (kept.length) this.set({ edges: applyEdgeChanges(kept, this.get().edges) });
  };

  /** Records the current state as one undo step (e.g. when a resize starts). */
  recordStep(): void {
    this.history.record(this.snapshot());
    this.set({ canUndo: true, canRedo: false });
  }

  private nodesInside(group: GroupNode, nodes: FlowNode[]): string[] {
    const [x, y, w, h] = groupBounding(group);
    return nodes
      .filter((n) => isLgNode(n) && n.position.x >= x && n.position.y >= y && n.position.x < x + w && n.position.y < y + h)
      .map((n) => n.id);
  }

  // ---- links -----------------------------------------------------------------------------
  /** The output and input types of a proposed connection, or null when it must be refused. */
  checkConnection(
    c: Connection | { source: string; target: string; sourceHandle?: string | null; targetHandle?: string | null },
    nodes: FlowNode[] = this.get().nodes,
  ) {
    const { defs } = this.get();
    const source = nodes.find((n) => n.id === c.source);
    const target = nodes.find((n) => n.id === c.target);
    if (!source || !target || !isLgNode(source) || !isLgNode(target) || source.id === target.id) return null;
    const out = nodeSockets(source.data.node, defs).outputs[Number(handleKey(c.sourceHandle))];
    const inp = nodeSockets(target.data.node, defs).inputs.find((s) => s.key === handleKey(c.targetHandle));
    if (!out || !inp || !typesCompatible(out.type, inp.type)) return null;
    return { outType: out.type, inType: inp.type };
  }

  isValidConnection = (c: Connection | FlowEdge): boolean => this.checkConnection(c) !== null;

  private linkEdges(edges: FlowEdge[], meta: GraphMeta, c: Connection, nodes?: FlowNode[]): { edges: FlowEdge[]; meta: GraphMeta } | null {
    const check = this.checkConnection(c, nodes);
    if (!check) return null;
    const link = {
      id: meta.lastLinkId + 1,
      source: c.source,
      sourceSlot: Number(handleKey(c.sourceHandle)),
      target: c.target,
      targetInput: handleKey(c.targetHandle),
      type: check.outType,
    };
    const rest = edges.filter((e) => !(e.target === c.target && e.targetHandle === c.targetHandle));
    return { edges: [...rest, linkToEdge(link)], meta: { ...meta, lastLinkId: link.id } };
  }

  /** Connects an output to an input (replacing the input's old link). False when refused. */
  connect = (c: Connection): boolean => {
    const s = this.get();
    const linked = this.linkEdges(s.edges, s.meta, c);
    if (!linked) return false;
    this.commit(linked);
    return true;
  };

  /** Moves an existing link to a new socket pair (dragging one of its ends). False when refused. */
  reconnect = (old: FlowEdge, c: Connection): boolean => {
    const s = this.get();
    const linked = this.linkEdges(
      s.edges.filter((e) => e.id !== old.id),
      s.meta,
      c,
    );
    if (!linked) return false;
    this.commit(linked);
    return true;
  };

  removeEdge(id: string): void {
    const edges = this.get().edges.filter((e) => e.id !== id);
    if (edges.length !== this.get().edges.length) this.commit({ edges });
  }

  // ---- nodes -----------------------------------------------------------------------------
  /**
   * Adds a node of `type` (one undo step); with `from`, also links it to the socket the link was
   * dragged from; `widgets` are initial widget values (e.g. the file of a model loader).
   */
  addNode(type: string, pos: { x: number; y: number }, from?: PendingLink, widgets?: Record<string, unknown>): string | null {
    const s = this.get();
    const id = String(s.meta.lastNodeId + 1);
    const at: [number, number] = [Math.round(pos.x), Math.round(pos.y)];
    const serverDef = s.defs[type];
    const node = serverDef ? makeNode(serverDef, id, at) : makeFrontendNode(type, id, at);
    if (!node) return null;
    if (widgets && serverDef) node.widgets = { ...node.widgets, ...widgets };
    let meta: GraphMeta = { ...s.meta, lastNodeId: s.meta.lastNodeId + 1 };
    let edges = s.edges;
    let connection: Connection | null = null;
    if (from?.handleType === 'source') {
      const input = serverDef ? compatibleInput(serverDef, from.type) : undefined;
      if (input?.isWidget) node.converted = [input.name];
      const key = serverDef ? input?.name : node.raw?.inputs.length ? '#0' : undefined;
      if (key !== undefined) connection = { source: from.nodeId, sourceHandle: from.handleId, target: id, targetHandle: inputHandle(key) };
    } else if (from?.handleType === 'target') {
      const slot = serverDef ? compatibleOutput(serverDef, from.type) : node.raw?.outputs.length ? 0 : -1;
      if (slot >= 0) connection = { source: id, sourceHandle: `out:${slot}`, target: from.nodeId, targetHandle: from.handleId };
    }
    const nodes = [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), { ...nodeToFlow(node), selected: true }];
    if (connection) {
      const linked = this.linkEdges(edges, meta, connection, nodes);
      if (linked) ({ edges, meta } = linked);
    }
    this.commit({ nodes, edges, meta });
    return id;
  }

  private updateNode(id: string, update: (n: EditorNode) => EditorNode, key?: string): void {
    const nodes = this.get().nodes.map((n) => (n.id === id && isLgNode(n) ? { ...n, data: { node: update(n.data.node) } } : n));
    this.commit({ nodes }, key);
  }

  setWidget(id: string, name: string, value: unknown): void {
    this.updateNode(id, (n) => ({ ...n, widgets: { ...n.widgets, [name]: value } }), `w:${id}:${name}`);
  }

  setControl(id: string, name: string, value: string): void {
    this.updateNode(id, (n) => ({ ...n, controls: { ...n.controls, [name]: value } }));
  }

  /** Edits a value of a node kept raw (notes, PrimitiveNode). */
  setRawWidget(id: string, index: number, value: unknown): void {
    this.updateNode(
      id,
      (n) => {
        if (!n.raw || !Array.isArray(n.raw.widgets_values)) return n;
        const values = [...n.raw.widgets_values];
        values[index] = value;
        return { ...n, raw: { ...n.raw, widgets_values: values } };
      },
      `r:${id}:${index}`,
    );
  }

  setTitle(id: string, title: string): void {
    this.updateNode(id, (n) => ({ ...n, title }));
  }

  /** Turns a widget into an input socket (toInput) or back, dropping its link. */
  convertWidget(id: string, name: string, toInput: boolean): void {
    const s = this.get();
    const nodes = s.nodes.map((n) => {
      if (n.id !== id || !isLgNode(n)) return n;
      const rest = n.data.node.converted.filter((c) => c !== name);
      return { ...n, data: { node: { ...n.data.node, converted: toInput ? [...rest, name] : rest } } };
    });
    const edges = toInput ? s.edges : s.edges.filter((e) => !(e.target === id && e.targetHandle === inputHandle(name)));
    this.commit({ nodes, edges });
  }

  /** Ctrl+B / Ctrl+M: sets `mode` on the selected nodes, or back to normal if all have it. */
  toggleMode(mode: number): void {
    const selected = this.get().nodes.filter((n): n is LgNode => isLgNode(n) && Boolean(n.selected));
    if (selected.length === 0) return;
    const next = selected.every((n) => n.data.node.mode === mode) ? 0 : mode;
    const ids = new Set(selected.map((n) => n.id));
    this.commit({
      nodes: this.get().nodes.map((n) => (ids.has(n.id) && isLgNode(n) ? { ...n, data: { node: { ...n.data.node, mode: next } } } : n)),
    });
  }

  deleteSelected(): void {
    const s = this.get();
    const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
    const edges = s.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
    if (gone.size === 0 && edges.length === s.edges.length) return;
    this.commit({ nodes: s.nodes.filter((n) => !gone.has(n.id)), edges });
  }

  selectAll(): void {
    this.set({ nodes: this.get().nodes.map((n) => ({ ...n, selected: isLgNode(n) })) });
  }

  /** Advances seed-like widgets after a queued run (control_after_generate), inside subgraphs too. */
  applyControls(): void {
    const s = this.get();
    const editorNodes = s.nodes.filter(isLgNode).map((n) => n.data.node);
    const advanced = applyControlsWithSubgraphs(editorNodes, s.meta.passthrough, s.defs);
    const next = new Map(advanced.nodes.map((n) => [n.id, n]));
    const nodes = s.nodes.map((n) => (isLgNode(n) && next.get(n.id) !== n.data.node ? { ...n, data: { node: next.get(n.id)! } } : n));
    const meta = advanced.passthrough === s.meta.passthrough ? s.meta : { ...s.meta, passthrough: advanced.passthrough };
    this.set((st) => ({ nodes, meta, revision: st.revision + 1 }));
  }

  // ---- groups ----------------------------------------------------------------------------
  /** Ctrl+G: a titled group around the selected nodes. */
  groupSelected(title = 'Group'): void {
    const s = this.get();
    const sel = s.nodes.filter((n): n is LgNode => isLgNode(n) && Boolean(n.selected));
    if (sel.length === 0) return;
    const pad = 20;
    const xs = sel.map((n) => n.position.x);
    const ys = sel.map((n) => n.position.y);
    const x2 = sel.map((n) => n.position.x + (n.measured?.width ?? 240));
    const y2 = sel.map((n) => n.position.y + (n.measured?.height ?? 120));
    const x = Math.min(...xs) - pad;
    const y = Math.min(...ys) - pad - 36;
    const id = Math.max(0, ...s.nodes.filter((n): n is GroupNode => n.type === 'group').map((g) => g.data.group.id)) + 1;
    const group = groupToFlow({ id, title, bounding: [x, y, Math.max(...x2) + pad - x, Math.max(...y2) + pad - y], color: '#3f789e' });
    this.commit({ nodes: [group, ...s.nodes] });
  }

  setGroupTitle(flowId: string, title: string): void {
    this.commit({
      nodes: this.get().nodes.map((n) =>
        n.id === flowId && n.type === 'group' ? { ...n, data: { group: { ...n.data.group, title } } } : n,
      ),
    });
  }

  // ---- clipboard -------------------------------------------------------------------------
  copySelected(): boolean {
    const s = this.get();
    const sel = s.nodes.filter((n): n is LgNode => isLgNode(n) && Boolean(n.selected)).map(flowNodeToEditor);
    if (sel.length === 0) return false;
    writeClipboard(
      copyNodes(
        sel,
        s.edges.map((e) => e.data!.link),
      ),
    );
    return true;
  }

  /**
   * Pastes the clipboard (new ids, links between the copied nodes kept) as one undo step;
   * `withInputs` (Ctrl+Shift+V) also keeps the links coming from nodes that were not copied.
   */
  paste(at?: { x: number; y: number }, withInputs = false): boolean {
    const clip = readClipboard();
    if (!clip || clip.nodes.length === 0) return false;
    const s = this.get();
    const existing = withInputs ? new Set(s.nodes.filter(isLgNode).map((n) => n.id)) : new Set<string>();
    const pasted = pasteNodes(clip, s.meta, at, existing);
    const nodes = [
      ...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)),
      ...pasted.nodes.map((n) => ({ ...nodeToFlow(n), selected: true })),
    ];
    this.commit({ nodes, edges: [...s.edges, ...pasted.links.map((l) => linkToEdge(l))], meta: pasted.meta });
    return true;
  }
}

export const graphStore = new GraphStore();
