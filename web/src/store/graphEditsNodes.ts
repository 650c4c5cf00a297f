/**
 * Node edits of the editor graph: adding a node (optionally linked to a dragged socket), editing
 * its widgets, title and converted inputs, bypass/mute, deleting the selection and advancing
 * seed-like widgets after a run. Kept out of graphStore.ts so the store holds only state and undo
 * recording; these functions are pure: they take the state and return what to commit
 * (null = nothing to do), and graphStore's methods of the same names commit it.
 */
import type { Connection } from '@xyflow/react';
import { makeFrontendNode } from '../workflow/frontendNodes';
import { compatibleInput, compatibleOutput } from '../workflow/search';
import { applyControlsWithSubgraphs } from '../workflow/subgraphControls';
import type { EditorNode } from '../workflow/types';
import { type FlowEdge, type FlowNode, type GraphMeta, inputHandle, isLgNode, type LgNode, makeNode, nodeToFlow } from './flowModel';
import { linkEdges } from './graphEditsLinks';
import type { GraphState, PendingLink } from './graphStore';

type GraphPatch = Pick<GraphState, 'nodes' | 'edges' | 'meta'>;

/**
 * The graph with a new node of `type` at `pos`, selected alone; with `from`, also linked to the
 * socket the link was dragged from; `widgets` are initial widget values. Null for an unknown type.
 */
export function withAddedNode(
  s: GraphState,
  type: string,
  pos: { x: number; y: number },
  from?: PendingLink,
  widgets?: Record<string, unknown>,
): { patch: GraphPatch; id: string } | null {
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
    const linked = linkEdges(s.defs, nodes, edges, meta, connection);
    if (linked) ({ edges, meta } = linked);
  }
  return { patch: { nodes, edges, meta }, id };
}

/** `nodes` with `update` applied to the editor node `id`. */
export function withUpdatedNode(nodes: FlowNode[], id: string, update: (n: EditorNode) => EditorNode): FlowNode[] {
  return nodes.map((n) => (n.id === id && isLgNode(n) ? { ...n, data: { node: update(n.data.node) } } : n));
}

/** `n` with value `index` of its raw widgets (notes, PrimitiveNode) set to `value`. */
export function withRawWidget(n: EditorNode, index: number, value: unknown): EditorNode {
  if (!n.raw || !Array.isArray(n.raw.widgets_values)) return n;
  const values = [...n.raw.widgets_values];
  values[index] = value;
  return { ...n, raw: { ...n.raw, widgets_values: values } };
}

/** Widget `name` of node `id` turned into an input socket (toInput) or back, dropping its link. */
export function withConvertedWidget(
  s: Pick<GraphState, 'nodes' | 'edges'>,
  id: string,
  name: string,
  toInput: boolean,
): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const nodes = s.nodes.map((n) => {
    if (n.id !== id || !isLgNode(n)) return n;
    const rest = n.data.node.converted.filter((c) => c !== name);
    return { ...n, data: { node: { ...n.data.node, converted: toInput ? [...rest, name] : rest } } };
  });
  const edges = toInput ? s.edges : s.edges.filter((e) => !(e.target === id && e.targetHandle === inputHandle(name)));
  return { nodes, edges };
}

/** `nodes` with `mode` set on the selected nodes, or back to normal if all have it; null when none is selected. */
export function withToggledMode(nodes: FlowNode[], mode: number): FlowNode[] | null {
  const selected = nodes.filter((n): n is LgNode => isLgNode(n) && Boolean(n.selected));
  if (selected.length === 0) return null;
  const next = selected.every((n) => n.data.node.mode === mode) ? 0 : mode;
  const ids = new Set(selected.map((n) => n.id));
  return nodes.map((n) => (ids.has(n.id) && isLgNode(n) ? { ...n, data: { node: { ...n.data.node, mode: next } } } : n));
}

/** The graph without the selected nodes and links (and the links of deleted nodes); null when nothing is selected. */
export function withoutSelection(s: Pick<GraphState, 'nodes' | 'edges'>): { nodes: FlowNode[]; edges: FlowEdge[] } | null {
  const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
  const edges = s.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
  if (gone.size === 0 && edges.length === s.edges.length) return null;
  return { nodes: s.nodes.filter((n) => !gone.has(n.id)), edges };
}

/** Seed-like widgets advanced after a queued run (control_after_generate), inside subgraphs too. */
export function withAppliedControls(s: GraphState): { nodes: FlowNode[]; meta: GraphMeta } {
  const editorNodes = s.nodes.filter(isLgNode).map((n) => n.data.node);
  const advanced = applyControlsWithSubgraphs(editorNodes, s.meta.passthrough, s.defs);
  const next = new Map(advanced.nodes.map((n) => [n.id, n]));
  const nodes = s.nodes.map((n) => (isLgNode(n) && next.get(n.id) !== n.data.node ? { ...n, data: { node: next.get(n.id)! } } : n));
  const meta = advanced.passthrough === s.meta.passthrough ? s.meta : { ...s.meta, passthrough: advanced.passthrough };
  return { nodes, meta };
}
