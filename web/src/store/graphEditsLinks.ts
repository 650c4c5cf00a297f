/**
 * Links of the editor graph: whether a proposed connection is allowed (socket types compatible)
 * and the edges/metadata after making it. Kept out of graphStore.ts so the store holds only state
 * and undo recording; these functions are pure (they read the state passed in, never the store).
 */
import type { Connection } from '@xyflow/react';
import { nodeSockets, type NodeDefs } from '../workflow/nodeDefs';
import { typesCompatible } from '../workflow/typeCompat';
import { type FlowEdge, type FlowNode, type GraphMeta, handleKey, isLgNode, linkToEdge } from './flowModel';

/** A proposed connection: React Flow's, or one of an existing edge. */
export type ProposedConnection =
  Connection | { source: string; target: string; sourceHandle?: string | null; targetHandle?: string | null };

/** The output and input types a connection joins. */
export interface ConnectionTypes {
  outType: string;
  inType: string;
}

/** The output and input types of a proposed connection between `nodes`, or null when it must be refused. */
export function checkConnection(defs: NodeDefs, nodes: FlowNode[], c: ProposedConnection): ConnectionTypes | null {
  const source = nodes.find((n) => n.id === c.source);
  const target = nodes.find((n) => n.id === c.target);
  if (!source || !target || !isLgNode(source) || !isLgNode(target) || source.id === target.id) return null;
  const out = nodeSockets(source.data.node, defs).outputs[Number(handleKey(c.sourceHandle))];
  const inp = nodeSockets(target.data.node, defs).inputs.find((s) => s.key === handleKey(c.targetHandle));
  if (!out || !inp || !typesCompatible(out.type, inp.type)) return null;
  return { outType: out.type, inType: inp.type };
}

/**
 * `edges` with a new link for `c` (replacing the old link of its input) and `meta` with the link
 * id taken, or null when the connection is refused.
 */
export function linkEdges(
  defs: NodeDefs,
  nodes: FlowNode[],
  edges: FlowEdge[],
  meta: GraphMeta,
  c: Connection,
): { edges: FlowEdge[]; meta: GraphMeta } | null {
  const check = checkConnection(defs, nodes, c);
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
