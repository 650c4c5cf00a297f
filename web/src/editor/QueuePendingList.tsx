/** The pending prompts of the queue panel, in execution order: drag a row onto another place (a
 * line marks the gap it would drop into), or use its ⤒ ↑ ↓ ⤓ buttons (the keyboard way); delete one.
 * A drop shows its order at once and then whatever the server answers: the panel reloads /queue
 * after the move, and a refused move names the server's reason in the message bar. */
import { useState } from 'react';
import { deleteFromQueue, moveInQueue } from '../api/client';
import type { QueueItem, QueueMove } from '../api/types';
import { runStore } from '../store/runStore';
import { QueueMoveControls } from './QueueMoveControls';
import { droppedOrder, shownOrder } from './queueDrag';
import { moveFailureText } from './queueOrder';
import { useQueueDrag } from './useQueueDrag';

export function QueuePendingList(props: { items: readonly QueueItem[]; reload: () => Promise<void> }) {
  const serverIds = props.items.map((item) => item[1]);
  const [optimistic, setOptimistic] = useState<string[] | null>(null);
  const order = shownOrder(serverIds, optimistic);
  const byId = new Map(props.items.map((item) => [item[1], item]));

  const send = (change: Promise<void>, failureText: (e: Error) => string) =>
    void change
      .catch((e: Error) => runStore.notify(failureText(e), 'error'))
      .then(props.reload)
      .finally(() => setOptimistic(null));
  const move = (m: QueueMove) => send(moveInQueue(m), moveFailureText);
  const { listRef, drag, rowHandlers } = useQueueDrag(order, (m, gap) => {
    setOptimistic(droppedOrder(order, m.prompt_id, gap));
    move(m);
  });

  return (
    <div ref={listRef} className={`lg-queue-pending${drag ? ' dragging' : ''}`}>
      {order.map((id) => {
        const item = byId.get(id);
        if (!item) return null;
        return (
          <div
            key={id}
            data-queue-row
            data-prompt-id={id}
            className={`lg-queue-item pending${drag?.id === id ? ' drag-source' : ''}`}
            title="Drag to another place in the queue"
            {...rowHandlers(id)}
          >
            <span>
              <span className="lg-queue-grip" aria-hidden="true">
                ⠿
              </span>
              #{item[0]} {id.slice(0, 8)}
            </span>
            <QueueMoveControls pendingIds={order} promptId={id} onMove={move} />
            <button onClick={() => send(deleteFromQueue([id]), (e) => e.message)}>Delete</button>
          </div>
        );
      })}
      {drag?.lineTop != null && (
        <div className="lg-queue-drop-line" data-testid="queue-drop-line" data-gap={drag.gap} style={{ top: drag.lineTop - 1 }} />
      )}
    </div>
  );
}
