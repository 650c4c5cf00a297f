/**
 * The editor graph as React Flow nodes and edges, and back. Groups become React Flow nodes of
 * type "group" (drawn under the others); workflow nodes are of type "lg".
 */
import type { Edge, Node, NodeChange } from '@xyflow/react';
import { defaultControlValue, defaultWidgetValue, type NodeDef } from '../workflow/nodeDefs';
import type { EditorGraph, EditorGroup, EditorLink, EditorNode } from '../workflow/types';
import { typeColor } from './typeColors';

export type LgNode = Node<{ node: EditorNode }, 'lg'>;
export type GroupNode = Node<{ group: EditorGroup }, 'group'>;
export type FlowNode = LgNode | GroupNode;
export type FlowEdge = Edge<{ link: EditorLink }>;

/** Everything of a workflow that is not a node or a link. */
export interface GraphMeta {
  lastNodeId: number;
  lastLinkId: number;
  extra: Record<string, unknown>;
  workflowId?: string;
  config?: Record<string, unknown>;
  passthrough?: Record<string, unknown>;
}

const groupFlowId = (id: number) => `group-${id}`;
export const inputHandle = (key: string) => `in:${key}`;
export const outputHandle = (slot: number) => `out:${slot}`;
export const handleKey = (handle: string | null | undefined) => (handle ?? '').replace(/^(in|out):/, '');

export function isLgNode(n: FlowNode): n is LgNode {
  return n.type === 'lg';
}

export function linkToEdge(link: EditorLink, selected = false): FlowEdge {
  return {
    id: `link-${link.id}`,
    source: link.source,
    sourceHandle: outputHandle(link.sourceSlot),
    target: link.target,
    targetHandle: inputHandle(link.targetInput),
    data: { link },
    selected,
    style: { stroke: typeColor(link.type), strokeWidth: 2.5 },
  };
}

export function groupToFlow(group: EditorGroup): GroupNode {
  const [x, y, w, h] = group.bounding;
  return {
    id: groupFlowId(group.id),
    type: 'group',
    position: { x, y },
    width: w,
    height: h,
    style: { width: w, height: h },
    zIndex: -1,
    data: { group },
    dragHandle: '.lg-group-title',
  };
}

/** Widest a node is drawn when its file gives a size (ComfyUI's node width). */
const MAX_NODE_WIDTH = 900;
/** Height of a node's title bar: ComfyUI's `size` leaves it out (LiteGraph.NODE_TITLE_HEIGHT). */
export const NODE_TITLE_HEIGHT = 30;

export const isCollapsed = (node: EditorNode) => Boolean(node.flags?.collapsed);
export const isPinned = (node: EditorNode) => Boolean(node.flags?.pinned);
export const isReroute = (node: EditorNode) => node.type === 'Reroute';

/** The React Flow attributes that follow from a node's size and flags (collapsed, pinned). */
export function nodeLayout(node: EditorNode): Pick<LgNode, 'style' | 'draggable' | 'dragHandle'> {
  const layout: Pick<LgNode, 'style' | 'draggable' | 'dragHandle'> = {
    dragHandle: isReroute(node) ? '.lg-reroute' : '.lg-node-title',
    draggable: isPinned(node) ? false : undefined,
    style: undefined,
  };
  if (isCollapsed(node) || isReroute(node)) return layout;
  const [width, height] = node.size ?? [];
  const style: NonNullable<LgNode['style']> = {};
  if (typeof width === 'number' && width >= 120) style.width = Math.min(width, MAX_NODE_WIDTH);
  // The saved height is the least the node is drawn at; it grows when its widgets need more.
  if (typeof height === 'number' && height > 0) style.minHeight = Math.round(height + NODE_TITLE_HEIGHT);
  if (style.width !== undefined || style.minHeight !== undefined) layout.style = style;
  return layout;
}

export function nodeToFlow(node: EditorNode): LgNode {
  const flow: LgNode = { id: node.id, type: 'lg', position: { x: node.pos[0], y: node.pos[1] }, data: { node } };
  const layout = nodeLayout(node);
  flow.dragHandle = layout.dragHandle;
  if (layout.draggable !== undefined) flow.draggable = layout.draggable;
  if (layout.style) flow.style = layout.style;
  return flow;
}

/**
 * React Flow's resizer sets a node's fixed `width`/`height`; a workflow node keeps the width
 * but takes the height as its least height, so it still grows to fit its widgets (ComfyUI does
 * not let a node shrink below what it needs either).
 */
export function settleResizes(nodes: FlowNode[], changes: NodeChange<FlowNode>[]): FlowNode[] {
  const resized = new Set(changes.filter((c) => c.type === 'dimensions' && c.resizing).map((c) => (c as { id: string }).id));
  if (resized.size === 0) return nodes;
  return nodes.map((n) => {
    if (!isLgNode(n) || !resized.has(n.id) || (n.width === undefined && n.height === undefined)) return n;
    const { width, height, ...rest } = n;
    const style = { ...n.style };
    if (width !== undefined) style.width = Math.round(width);
    if (height !== undefined) style.minHeight = Math.round(height);
    return { ...rest, style };
  });
}

export function graphToFlow(graph: EditorGraph): { nodes: FlowNode[]; edges: FlowEdge[]; meta: GraphMeta } {
  return {
    nodes: [...graph.groups.map(groupToFlow), ...graph.nodes.map(nodeToFlow)],
    edges: graph.links.map((l) => linkToEdge(l)),
    meta: {
      lastNodeId: graph.lastNodeId,
      lastLinkId: graph.lastLinkId,
      extra: graph.extra,
      workflowId: graph.workflowId,
      config: graph.config,
      passthrough: graph.passthrough,
    },
  };
}

/**
 * Current node with its on-canvas position and measured size folded in, the size as ComfyUI
 * writes it (without the title bar). A collapsed node or a reroute dot keeps the size it had.
 */
export function flowNodeToEditor(n: LgNode): EditorNode {
  const node = n.data.node;
  const measured = n.measured?.width && n.measured?.height && !isCollapsed(node) && !isReroute(node);
  const size = measured
    ? ([Math.round(n.measured!.width!), Math.max(0, Math.round(n.measured!.height! - NODE_TITLE_HEIGHT))] as [number, number])
    : node.size;
  return { ...node, pos: [Math.round(n.position.x), Math.round(n.position.y)], ...(size ? { size } : {}) };
}

export function groupBounding(n: GroupNode): [number, number, number, number] {
  const w = n.width ?? n.measured?.width ?? n.data.group.bounding[2];
  const h = n.height ?? n.measured?.height ?? n.data.group.bounding[3];
  return [Math.round(n.position.x), Math.round(n.position.y), Math.round(w), Math.round(h)];
}

export function flowToGraph(nodes: FlowNode[], edges: FlowEdge[], meta: GraphMeta): EditorGraph {
  const graph: EditorGraph = {
    nodes: nodes.filter(isLgNode).map(flowNodeToEditor),
    links: edges.map((e) => e.data!.link),
    groups: nodes.filter((n): n is GroupNode => n.type === 'group').map((g) => ({ ...g.data.group, bounding: groupBounding(g) })),
    lastNodeId: meta.lastNodeId,
    lastLinkId: meta.lastLinkId,
    extra: meta.extra,
  };
  if (meta.workflowId) graph.workflowId = meta.workflowId;
  if (meta.config) graph.config = meta.config;
  if (meta.passthrough) graph.passthrough = meta.passthrough;
  return graph;
}

/** A new node of a defined type with default widget values. */
export function makeNode(def: NodeDef, id: string, pos: [number, number]): EditorNode {
  const widgets: Record<string, unknown> = {};
  const controls: Record<string, string> = {};
  for (const input of def.inputs) {
    if (!input.isWidget) continue;
    widgets[input.name] = defaultWidgetValue(input);
    if (input.control) controls[input.name] = defaultControlValue(input);
  }
  return {
    id,
    type: def.name,
    title: def.displayName,
    pos,
    mode: 0,
    widgets,
    controls,
    converted: [],
    properties: { 'Node name for S&R': def.name },
  };
}
