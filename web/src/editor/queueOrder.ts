/** Reordering the pending queue: which POST /queue `move` a panel control sends, and what a refused
 * move says in the message bar (pure, no I/O). */
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

/** What the message bar says when a move failed: the server's sentence from a refused POST /queue
 * (the `error.message` of its 400 body, which the client puts after the status), else the error's text. */
export function moveFailureText(error: Error): string {
  const body = error.message.indexOf('{');
  if (body >= 0) {
    try {
      const message = (JSON.parse(error.message.slice(body)) as { error?: { message?: unknown } }).error?.message;
      if (typeof message === 'string') return `The queue did not move: ${message}`;
    } catch {
      /* not a JSON body (or cut short): show the error as it is */
    }
  }
  return error.message;
}
