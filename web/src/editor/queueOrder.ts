/** Reordering the pending queue: which POST /queue `move` a panel control sends (pure, no I/O). */
import type { QueueMove } from '../api/types';

/** A control on one pending item. */
export type QueueMoveAction = 'front' | 'up' | 'down' | 'back';

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
