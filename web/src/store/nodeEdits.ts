/**
 * Node handling beyond wiring, as in ComfyUI: colour (LGraphCanvas.node_colors), collapse,
 * pin, align and distribute the selection, (resizing is in flowModel.ts).
 * Each operation is one undo step of graphStore (and bumps its revision, so autosave sees it).
 * The pure functions take and return React Flow nodes, so they are tested without a canvas.
 */
import type { EditorNode } from '../workflow/types';
import { type FlowNode, flowNodeToEditor, isLgNode, type LgNode, nodeLayout } from './flowModel';
import { graphStore } from './graphStore';
import { Store } from './store';

/** ComfyUI's node colour palette: title bar `color`, body `bgcolor` (litegraph LGraphCanvas.node_colors). */
export const NODE_COLORS = {
  red: { color: '#322', bgcolor: '#533' },
  brown: { color: '#332922', bgcolor: '#593930' },
  green: { color: '#232', bgcolor: '#353' },
  blue: { color: '#223', bgcolor: '#335' },
  pale_blue: { color: '#2a363b', bgcolor: '#3f5159' },
  cyan: { color: '#233', bgcolor: '#355' },
  purple: { color: '#323', bgcolor: '#535' },
  yellow: { color: '#432', bgcolor: '#653' },
  black: { color: '#222', bgcolor: '#000' },
} as const;
export type NodeColorName = keyof typeof NODE_COLORS;

export type AlignSide = 'left' | 'right' | 'top' | 'bottom';
export type DistributeAxis = 'horizontal' | 'vertical';

/** Width and height a node is drawn at (measured by React Flow; a guess before the first render). */
function boxOf(n: LgNode): { x: number; y: number; w: number; h: number } {
  return { x: n.position.x, y: n.position.y, w: n.measured?.width ?? n.data.node.size?.[0] ?? 240, h: n.measured?.height ?? 120 };
}

/** `nodes` with `update` applied to the editor node of each id in `ids`, size and flags re-laid out. */
export function editNodes(nodes: FlowNode[], ids: Set<string>, update: (n: EditorNode) => EditorNode): FlowNode[] {
  return nodes.map((n) => {
    if (!isLgNode(n) || !ids.has(n.id)) return n;
    // The measured size is folded in first, so that expanding a collapsed node restores its size.
    const node = update(flowNodeToEditor(n));
    const next: LgNode = { ...n, ...nodeLayout(node), data: { node } };
    if (next.draggable === undefined) delete next.draggable;
    if (next.style === undefined) delete next.style;
    delete next.width;
    delete next.height;
    return next;
  });
}

const withFlag = (n: EditorNode, flag: string, on: boolean): EditorNode => {
  const flags = { ...n.flags };
  if (on) flags[flag] = true;
  else delete flags[flag];
  return { ...n, flags };
};

/** Sets or clears (`on` = false) `flags[flag]` on the nodes of `ids`. */
export function setFlag(nodes: FlowNode[], ids: Set<string>, flag: 'collapsed' | 'pinned', on: boolean): FlowNode[] {
  return editNodes(nodes, ids, (n) => withFlag(n, flag, on));
}

/** Gives the nodes of `ids` a palette colour, or their default look with `null`. */
export function setColor(nodes: FlowNode[], ids: Set<string>, name: NodeColorName | null): FlowNode[] {
  return editNodes(nodes, ids, (n) => {
    const { color: _c, bgcolor: _b, ...rest } = n;
    return name ? { ...rest, ...NODE_COLORS[name] } : rest;
  });
}

/** Lines the nodes of `ids` up on their common left/right/top/bottom edge (ComfyUI's "Align Selected To"). */
export function alignNodes(nodes: FlowNode[], ids: Set<string>, side: AlignSide): FlowNode[] {
  const boxes = nodes.filter((n): n is LgNode => isLgNode(n) && ids.has(n.id)).map((n) => ({ id: n.id, ...boxOf(n) }));
  if (boxes.length < 2) return nodes;
  const edge = {
    left: Math.min(...boxes.map((b) => b.x)),
    right: Math.max(...boxes.map((b) => b.x + b.w)),
    top: Math.min(...boxes.map((b) => b.y)),
    bottom: Math.max(...boxes.map((b) => b.y + b.h)),
  }[side];
  const at = new Map(
    boxes.map((b) => {
      if (side === 'left') return [b.id, { x: edge, y: b.y }];
      if (side === 'right') return [b.id, { x: edge - b.w, y: b.y }];
      if (side === 'top') return [b.id, { x: b.x, y: edge }];
      return [b.id, { x: b.x, y: edge - b.h }];
    }),
  );
  return nodes.map((n) => (at.has(n.id) ? { ...n, position: at.get(n.id)! } : n));
}

/** Spaces the nodes of `ids` with equal gaps between the first and the last (ComfyUI's "Distribute Nodes"). */
export function distributeNodes(nodes: FlowNode[], ids: Set<string>, axis: DistributeAxis): FlowNode[] {
  const horizontal = axis === 'horizontal';
  const boxes = nodes
    .filter((n): n is LgNode => isLgNode(n) && ids.has(n.id))
    .map((n) => ({ id: n.id, ...boxOf(n) }))
    .map((b) => ({ ...b, start: horizontal ? b.x : b.y, length: horizontal ? b.w : b.h }))
    .sort((a, b) => a.start - b.start);
  if (boxes.length < 3) return nodes;
  const first = boxes[0].start;
  const end = Math.max(...boxes.map((b) => b.start + b.length));
  const gap = (end - first - boxes.reduce((sum, b) => sum + b.length, 0)) / (boxes.length - 1);
  const at = new Map<string, number>();
  let cursor = first;
  for (const b of boxes) {
    at.set(b.id, Math.round(cursor));
    cursor += b.length + gap;
  }
  return nodes.map((n) => {
    const v = at.get(n.id);
    if (v === undefined) return n;
    return { ...n, position: horizontal ? { x: v, y: n.position.y } : { x: n.position.x, y: v } };
  });
}

// ---- on the open workflow (one undo step each) ----------------------------------------------

const selectedIds = (): Set<string> =>
  new Set(
    graphStore
      .get()
      .nodes.filter((n) => isLgNode(n) && n.selected)
      .map((n) => n.id),
  );

function commitNodes(next: (nodes: FlowNode[], ids: Set<string>) => FlowNode[]): void {
  const ids = selectedIds();
  if (ids.size === 0) return;
  const before = graphStore.get().nodes;
  const nodes = next(before, ids);
  if (nodes !== before) graphStore.commit({ nodes });
}

const allSelectedHave = (flag: string) =>
  graphStore
    .get()
    .nodes.filter((n): n is LgNode => isLgNode(n) && Boolean(n.selected))
    .every((n) => Boolean(n.data.node.flags?.[flag]));

export const nodeEdits = {
  setColor: (name: NodeColorName | null) => commitNodes((nodes, ids) => setColor(nodes, ids, name)),
  /** Alt+C: collapses the selected nodes, or expands them when all are collapsed. */
  toggleCollapsed: () => commitNodes((nodes, ids) => setFlag(nodes, ids, 'collapsed', !allSelectedHave('collapsed'))),
  togglePinned: () => commitNodes((nodes, ids) => setFlag(nodes, ids, 'pinned', !allSelectedHave('pinned'))),
  /** Collapses or expands one node (the dot at its title's left). */
  setCollapsed: (id: string, on: boolean) => graphStore.commit({ nodes: setFlag(graphStore.get().nodes, new Set([id]), 'collapsed', on) }),
  align: (side: AlignSide) => commitNodes((nodes, ids) => alignNodes(nodes, ids, side)),
  distribute: (axis: DistributeAxis) => commitNodes((nodes, ids) => distributeNodes(nodes, ids, axis)),
};

/** Which node's title is being edited in place (double-click on the title, or the menu's "Title"). */
export const titleEditor = new Store<{ nodeId: string | null }>({ nodeId: null });
