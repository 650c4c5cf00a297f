/** The move-to-front / up / down / to-back buttons of one pending prompt in the queue panel. */
import type { QueueMove } from '../api/types';
import { moveFor, type QueueMoveAction } from './queueOrder';

const CONTROLS: [QueueMoveAction, string, string][] = [
  ['front', '⤒', 'Move to front'],
  ['up', '↑', 'Move up'],
  ['down', '↓', 'Move down'],
  ['back', '⤓', 'Move to back'],
];

export function QueueMoveControls(props: { pendingIds: readonly string[]; promptId: string; onMove: (move: QueueMove) => void }) {
  return (
    <span className="lg-queue-move">
      {CONTROLS.map(([action, symbol, label]) => {
        const move = moveFor(props.pendingIds, props.promptId, action);
        return (
          <button key={action} aria-label={label} title={label} disabled={move === null} onClick={() => move && props.onMove(move)}>
            {symbol}
          </button>
        );
      })}
    </span>
  );
}
