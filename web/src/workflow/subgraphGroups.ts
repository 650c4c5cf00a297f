/**
 * Which groups go with a selection into a new subgraph, and putting them back on unpack.
 *
 * ComfyUI's convertToSubgraph moves the groups among the selected items into the definition's
 * `groups` (positions unchanged: a definition keeps the coordinates its nodes had) and removes
 * them from the parent graph. Here a group goes along when it is selected itself, or when it
 * holds nodes and every node inside it (by the node's centre, as LiteGraph's group membership
 * counts) is in the selection. Selecting only groups converts the nodes inside them.
 */
import type { EditorGraph, EditorGroup, EditorNode } from './types';

const DEFAULT_SIZE: [number, number] = [320, 120];

/** True when the centre of node `n` lies inside group `g`. */
export function nodeInGroup(n: EditorNode, g: EditorGroup): boolean {
  const [w, h] = n.size ?? DEFAULT_SIZE;
  const cx = n.pos[0] + w / 2;
  const cy = n.pos[1] + h / 2;
  const [x, y, gw, gh] = g.bounding;
  return cx >= x && cx <= x + gw && cy >= y && cy <= y + gh;
}

/** The ids of the nodes inside the groups `groupIds`. */
export function nodesInGroups(graph: EditorGraph, groupIds: number[]): string[] {
  const groups = graph.groups.filter((g) => groupIds.includes(g.id));
  return graph.nodes.filter((n) => groups.some((g) => nodeInGroup(n, g))).map((n) => n.id);
}

/** The groups that move into a subgraph made of the nodes `selected` (plus the groups selected themselves). */
export function groupsToMove(graph: EditorGraph, selected: Set<string>, selectedGroups: number[] = []): EditorGroup[] {
  return graph.groups.filter((g) => {
    if (selectedGroups.includes(g.id)) return true;
    const members = graph.nodes.filter((n) => nodeInGroup(n, g));
    return members.length > 0 && members.every((n) => selected.has(n.id));
  });
}

/** `groups` (a definition's, read back) moved by (dx, dy) with ids not taken in `graph`. */
export function placeGroups(graph: EditorGraph, groups: EditorGroup[], dx: number, dy: number): EditorGroup[] {
  let next = Math.max(0, ...graph.groups.map((g) => g.id));
  return groups.map((g) => {
    const [x, y, w, h] = g.bounding;
    return { ...g, id: ++next, bounding: [x + dx, y + dy, w, h] };
  });
}
