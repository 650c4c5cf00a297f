/**
 * The editor graph as React Flow nodes and edges, and back. Groups become React Flow nodes of
 * type "group" (drawn under the others); workflow nodes are of type "lg".
 */
import type { Edge, Node } from '@xyflow/react';
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

export function nodeToFlow(node: EditorNode): LgNode {
  const flow: LgNode = {
    id: node.id,
    type: 'lg',
    position: { x: node.pos[0], y: node.pos[1] },
    data: { node },
    dragHandle: '.lg-node-title',
  };
  const width = node.size?.[0];
  if (typeof width === 'number' && width >= 120) flow.style = { width: Math.min(width, MAX_NODE_WIDTH) };
  return flow;
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

/** Current node with its on-canvas position and measured size folded in. */
export function flowNodeToEditor(n: LgNode): EditorNode {
  const size =
    n.measured?.width && n.measured?.height
      ? ([Math.round(n.measured.width), Math.round(n.measured.height)] as [number, number])
      : n.data.node.size;
  return { ...n.data.node, pos: [Math.round(n.position.x), Math.round(n.position.y)], ...(size ? { size } : {}) };
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
