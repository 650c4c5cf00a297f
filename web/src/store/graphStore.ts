/**
 * The graph being edited: React Flow nodes/edges plus workflow metadata, every edit recorded
 * for undo/redo. Components call the methods; nothing else mutates the graph.
 * This file holds the state, undo recording and sessions; the edits themselves are pure functions
 * in graphEditsLinks.ts, graphEditsNodes.ts, graphEditsGroups.ts, graphEditsClipboard.ts and
 * graphNodeChanges.ts, which the methods here call and commit (more edits: nodeEdits.ts etc.).
 */
import { applyEdgeChanges, type Connection, type EdgeChange, type NodeChange } from '@xyflow/react';
import type { NodeDefs } from '../workflow/nodeDefs';
import type { EditorGraph, EditorNode } from '../workflow/types';
import { type FlowEdge, type FlowNode, flowToGraph, type GraphMeta, graphToFlow, isLgNode } from './flowModel';
import { copySelection, withPastedClipboard } from './graphEditsClipboard';
import { withGroupAroundSelection, withGroupTitle } from './graphEditsGroups';
import { checkConnection, type ConnectionTypes, linkEdges, type ProposedConnection } from './graphEditsLinks';
import {
  withAddedNode,
  withAppliedControls,
  withConvertedWidget,
  withoutSelection,
  withRawWidget,
  withToggledMode,
  withUpdatedNode,
} from './graphEditsNodes';
import { NodeChangeStream } from './graphNodeChanges';
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
  private nodeChanges = new NodeChangeStream();

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
    this.nodeChanges.reset();
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

  // ---- React Flow change streams (graphNodeChanges.ts) -----------------------------------
  onNodesChange = (changes: NodeChange<FlowNode>[]): void => {
    const changed = this.nodeChanges.apply(changes, this.get().nodes, () => this.recordStep());
    if (!changed) return;
    const { nodes, touchesWorkflow } = changed;
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

  // ---- links (graphEditsLinks.ts) --------------------------------------------------------
  /** The output and input types of a proposed connection, or null when it must be refused. */
  checkConnection(c: ProposedConnection, nodes: FlowNode[] = this.get().nodes): ConnectionTypes | null {
    return checkConnection(this.get().defs, nodes, c);
  }

  isValidConnection = (c: Connection | FlowEdge): boolean => this.checkConnection(c) !== null;

  /** Connects an output to an input (replacing the input's old link). False when refused. */
  connect = (c: Connection): boolean => {
    const s = this.get();
    const linked = linkEdges(s.defs, s.nodes, s.edges, s.meta, c);
    if (!linked) return false;
    this.commit(linked);
    return true;
  };

  /** Moves an existing link to a new socket pair (dragging one of its ends). False when refused. */
  reconnect = (old: FlowEdge, c: Connection): boolean => {
    const s = this.get();
    const linked = linkEdges(
      s.defs,
      s.nodes,
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

  // ---- nodes (graphEditsNodes.ts) --------------------------------------------------------
  /**
   * Adds a node of `type` (one undo step); with `from`, also links it to the socket the link was
   * dragged from; `widgets` are initial widget values (e.g. the file of a model loader).
   */
  addNode(type: string, pos: { x: number; y: number }, from?: PendingLink, widgets?: Record<string, unknown>): string | null {
    const added = withAddedNode(this.get(), type, pos, from, widgets);
    if (!added) return null;
    this.commit(added.patch);
    return added.id;
  }

  private updateNode(id: string, update: (n: EditorNode) => EditorNode, key?: string): void {
    this.commit({ nodes: withUpdatedNode(this.get().nodes, id, update) }, key);
  }

  setWidget(id: string, name: string, value: unknown): void {
    this.updateNode(id, (n) => ({ ...n, widgets: { ...n.widgets, [name]: value } }), `w:${id}:${name}`);
  }

  setControl(id: string, name: string, value: string): void {
    this.updateNode(id, (n) => ({ ...n, controls: { ...n.controls, [name]: value } }));
  }

  /** Edits a value of a node kept raw (notes, PrimitiveNode). */
  setRawWidget(id: string, index: number, value: unknown): void {
    this.updateNode(id, (n) => withRawWidget(n, index, value), `r:${id}:${index}`);
  }

  setTitle(id: string, title: string): void {
    this.updateNode(id, (n) => ({ ...n, title }));
  }

  /** Turns a widget into an input socket (toInput) or back, dropping its link. */
  convertWidget(id: string, name: string, toInput: boolean): void {
    this.commit(withConvertedWidget(this.get(), id, name, toInput));
  }

  /** Ctrl+B / Ctrl+M: sets `mode` on the selected nodes, or back to normal if all have it. */
  toggleMode(mode: number): void {
    const nodes = withToggledMode(this.get().nodes, mode);
    if (nodes) this.commit({ nodes });
  }

  deleteSelected(): void {
    const rest = withoutSelection(this.get());
    if (rest) this.commit(rest);
  }

  selectAll(): void {
    this.set({ nodes: this.get().nodes.map((n) => ({ ...n, selected: isLgNode(n) })) });
  }

  /** Advances seed-like widgets after a queued run (control_after_generate), inside subgraphs too. */
  applyControls(): void {
    const { nodes, meta } = withAppliedControls(this.get());
    this.set((st) => ({ nodes, meta, revision: st.revision + 1 }));
  }

  // ---- groups (graphEditsGroups.ts) ------------------------------------------------------
  /** Ctrl+G: a titled group around the selected nodes. */
  groupSelected(title = 'Group'): void {
    const nodes = withGroupAroundSelection(this.get().nodes, title);
    if (nodes) this.commit({ nodes });
  }

  setGroupTitle(flowId: string, title: string): void {
    this.commit({ nodes: withGroupTitle(this.get().nodes, flowId, title) });
  }

  // ---- clipboard (graphEditsClipboard.ts) ------------------------------------------------
  copySelected(): boolean {
    return copySelection(this.get());
  }

  /**
   * Pastes the clipboard (new ids, links between the copied nodes kept) as one undo step;
   * `withInputs` (Ctrl+Shift+V) also keeps the links coming from nodes that were not copied.
   */
  paste(at?: { x: number; y: number }, withInputs = false): boolean {
    const pasted = withPastedClipboard(this.get(), at, withInputs);
    if (!pasted) return false;
    this.commit(pasted);
    return true;
  }
}

export const graphStore = new GraphStore();
