/** Reordering the pending queue: which POST /queue `move` a panel control sends (pure, no I/O). */

/** A control on one pending item. */
export type QueueMoveAction = 'front' | 'up' | 'down' | 'back';

/** The `move` body of POST /queue: to the front or back, or just before another pending prompt. */
export type QueueMove = { prompt_id: string; to: 'front' | 'back' } | { prompt_id: string; before: string };

/** The move that does `action` to `promptId` in `pendingIds` (execution order); null when the
 * prompt is not pending or is already where the action would put it. */
export function moveFor(pendingIds: readonly string[], promptId: string, action: QueueMoveAction): QueueMove | null {
  const at = pendingIds.indexOf(promptId);
  const last = pendingIds.length - 1;
  if (at < 0) return null;
  const atStart = at === 0;
  const atEnd = at === last;
  switch (action) {
    case 'front':
      return atStart ? null : { prompt_id: promptId, to: 'front' };
    case 'back':
      return atEnd ? null : { prompt_id: promptId, to: 'back' };
    case 'up':
      return atStart ? null : { prompt_id: promptId, before: pendingIds[at - 1] };
    case 'down':
      if (atEnd) return null;
      return at + 1 === last ? { prompt_id: promptId, to: 'back' } : { prompt_id: promptId, before: pendingIds[at + 2] };
  }
}

/** `pendingIds` after `move`, as the server orders it (for checking, and an optimistic redraw). */
export function applyMove(pendingIds: readonly string[], move: QueueMove): string[] {
  const rest = pendingIds.filter((id) => id !== move.prompt_id);
  if (rest.length === pendingIds.length) return [...pendingIds];
  if ('to' in move) return move.to === 'front' ? [move.prompt_id, ...rest] : [...rest, move.prompt_id];
  const at = rest.indexOf(move.before);
  return at < 0 ? [...pendingIds] : [...rest.slice(0, at), move.prompt_id, ...rest.slice(at)];
}
