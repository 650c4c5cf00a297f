/** Drag and drop of pending prompts in the queue panel, the pure part: which gap between the rows
 * the pointer points at, which POST /queue `move` a drop there sends, and the order the panel
 * shows while that move is on its way to the server (no DOM, no I/O). */
import type { QueueMove } from '../api/types';

/** The vertical extent of one pending row on screen (client coordinates). */
export interface RowSpan {
  top: number;
  bottom: number;
}

/** The gap the pointer at height `y` points at: 0 is before the first row, `rows.length` after
 * the last; a pointer over a row's upper half points before that row, over its lower half after it. */
export function dropGapAt(y: number, rows: readonly RowSpan[]): number {
  const over = rows.findIndex((row) => y < (row.top + row.bottom) / 2);
  return over < 0 ? rows.length : over;
}

/** The move that drops `draggedId` into `gap` of `pendingIds` (execution order): `before` the
 * prompt right after the gap, or `to: back` after the last one; null when the prompt is not
 * pending, the gap does not exist or is right next to the prompt (a drop there changes nothing). */
export function dropMove(pendingIds: readonly string[], draggedId: string, gap: number): QueueMove | null {
  const at = pendingIds.indexOf(draggedId);
  if (at < 0 || !Number.isInteger(gap) || gap < 0 || gap > pendingIds.length) return null;
  if (gap === at || gap === at + 1) return null;
  return gap === pendingIds.length ? { prompt_id: draggedId, to: 'back' } : { prompt_id: draggedId, before: pendingIds[gap] };
}

/** `pendingIds` with `draggedId` taken out and put into `gap` (the order a drop asks for). */
export function droppedOrder(pendingIds: readonly string[], draggedId: string, gap: number): string[] {
  const at = pendingIds.indexOf(draggedId);
  if (at < 0) return [...pendingIds];
  const rest = pendingIds.filter((id) => id !== draggedId);
  const into = gap > at ? gap - 1 : gap;
  return [...rest.slice(0, into), draggedId, ...rest.slice(into)];
}

/** The order the panel shows: the drop's `optimistic` order while it lists exactly the server's
 * pending prompts (the move is still on its way), else the server's order (a prompt started,
 * was queued or deleted meanwhile, or there is no move in flight). */
export function shownOrder(serverIds: readonly string[], optimistic: readonly string[] | null): readonly string[] {
  if (!optimistic || optimistic.length !== serverIds.length) return serverIds;
  const server = new Set(serverIds);
  return optimistic.every((id) => server.has(id)) ? optimistic : serverIds;
}
