/** Pointer-event dragging of pending prompts in the queue panel: a press on a row (not on one of
 * its buttons) that moves a few pixels starts a drag, the gap under the pointer gets the drop
 * line, releasing there calls `onDrop` with the move (Escape or a cancelled pointer drops nothing).
 * Pointer events rather than HTML5 drag and drop: the canvas's file drop stays out of it, and a
 * pen or a finger on the row's grip drags the same way. */
import { useEffect, useRef, useState, type PointerEvent as ReactPointerEvent } from 'react';
import type { QueueMove } from '../api/types';
import { dropGapAt, dropMove } from './queueDrag';

/** How far (px) a press has to move before it is a drag and not a click. */
const DRAG_THRESHOLD_PX = 4;

interface Press {
  id: string;
  pointerId: number;
  startY: number;
  dragging: boolean;
}

/** A drag in progress: which prompt, and where its drop line is (null: over no useful gap). */
export interface QueueDragState {
  id: string;
  gap: number | null;
  lineTop: number | null;
}

export function useQueueDrag(pendingIds: readonly string[], onDrop: (move: QueueMove, gap: number) => void) {
  const listRef = useRef<HTMLDivElement>(null);
  const press = useRef<Press | null>(null);
  const [drag, setDrag] = useState<QueueDragState | null>(null);

  const cancel = () => {
    press.current = null;
    setDrag(null);
  };
  const dragging = drag !== null;
  useEffect(() => {
    if (!dragging) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && cancel();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [dragging]);

  /** The gap under `clientY` and its line's offset in the list, when a drop there would move `id`. */
  const gapAt = (id: string, clientY: number): Omit<QueueDragState, 'id'> => {
    const list = listRef.current;
    if (!list) return { gap: null, lineTop: null };
    const rows = [...list.querySelectorAll<HTMLElement>('[data-queue-row]')].map((el) => el.getBoundingClientRect());
    const gap = dropGapAt(clientY, rows);
    if (!dropMove(pendingIds, id, gap) || rows.length === 0) return { gap: null, lineTop: null };
    const edge = gap < rows.length ? rows[gap].top : rows[rows.length - 1].bottom;
    return { gap, lineTop: edge - list.getBoundingClientRect().top + list.scrollTop };
  };

  const rowHandlers = (id: string) => ({
    onPointerDown: (e: ReactPointerEvent<HTMLElement>) => {
      if (e.button !== 0 || (e.target as Element).closest('button')) return;
      e.preventDefault(); // no text selection while dragging
      e.currentTarget.setPointerCapture(e.pointerId);
      press.current = { id, pointerId: e.pointerId, startY: e.clientY, dragging: false };
    },
    onPointerMove: (e: ReactPointerEvent<HTMLElement>) => {
      const p = press.current;
      if (!p || p.pointerId !== e.pointerId) return;
      if (!p.dragging && Math.abs(e.clientY - p.startY) < DRAG_THRESHOLD_PX) return;
      p.dragging = true;
      setDrag({ id: p.id, ...gapAt(p.id, e.clientY) });
    },
    onPointerUp: (e: ReactPointerEvent<HTMLElement>) => {
      const p = press.current;
      if (!p || p.pointerId !== e.pointerId) return;
      cancel();
      if (!p.dragging) return;
      const { gap } = gapAt(p.id, e.clientY);
      const move = gap === null ? null : dropMove(pendingIds, p.id, gap);
      if (move && gap !== null) onDrop(move, gap);
    },
    onPointerCancel: cancel,
    // the row left the list mid-drag (its prompt started): no pointerup will come to it
    onLostPointerCapture: cancel,
  });

  return { listRef, drag, rowHandlers };
}
