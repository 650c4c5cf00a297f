/**
 * Groups of the editor graph (ComfyUI's titled frames): a group around the selection (Ctrl+G),
 * retitling one, and which nodes a group holds (they move with it when it is dragged, see
 * graphNodeChanges.ts). Kept out of graphStore.ts so the store holds only state and undo
 * recording; these functions are pure and graphStore's methods commit what they return.
 */
import { type FlowNode, type GroupNode, groupBounding, groupToFlow, isLgNode, type LgNode } from './flowModel';

/** `nodes` with a new titled group around the selected nodes in front; null when none is selected. */
export function withGroupAroundSelection(nodes: FlowNode[], title: string): FlowNode[] | null {
  const sel = nodes.filter((n): n is LgNode => isLgNode(n) && Boolean(n.selected));
  if (sel.length === 0) return null;
  const pad = 20;
  const xs = sel.map((n) => n.position.x);
  const ys = sel.map((n) => n.position.y);
  const x2 = sel.map((n) => n.position.x + (n.measured?.width ?? 240));
  const y2 = sel.map((n) => n.position.y + (n.measured?.height ?? 120));
  const x = Math.min(...xs) - pad;
  const y = Math.min(...ys) - pad - 36;
  const id = Math.max(0, ...nodes.filter((n): n is GroupNode => n.type === 'group').map((g) => g.data.group.id)) + 1;
  const group = groupToFlow({ id, title, bounding: [x, y, Math.max(...x2) + pad - x, Math.max(...y2) + pad - y], color: '#3f789e' });
  return [group, ...nodes];
}

/** `nodes` with group `flowId` retitled. */
export function withGroupTitle(nodes: FlowNode[], flowId: string, title: string): FlowNode[] {
  return nodes.map((n) => (n.id === flowId && n.type === 'group' ? { ...n, data: { group: { ...n.data.group, title } } } : n));
}

/** Ids of the graph nodes whose top-left corner lies inside `group`. */
export function nodesInside(group: GroupNode, nodes: FlowNode[]): string[] {
  const [x, y, w, h] = groupBounding(group);
  return nodes
    .filter((n) => isLgNode(n) && n.position.x >= x && n.position.y >= y && n.position.x < x + w && n.position.y < y + h)
    .map((n) => n.id);
}
