/**
 * Where the mouse is. `screen` is its last position over the canvas (Canvas.tsx sets it; pasted
 * nodes go there); `last` is its last position anywhere on the page (side panels, the queue panel,
 * dialogs included), so that a paste can tell whether the mouse is over the canvas now.
 */
type Point = { x: number; y: number };

export const pointer: { screen: Point | null; last: Point | null } = { screen: null, last: null };

if (typeof document !== 'undefined') {
  document.addEventListener(
    'mousemove',
    (e) => {
      pointer.last = { x: e.clientX, y: e.clientY };
    },
    { capture: true, passive: true },
  );
}

/** Whether `p` lies inside `box` (a DOMRect-like bounding box, edges included). */
export function insideBox(p: Point, box: { left: number; top: number; width: number; height: number }): boolean {
  return p.x >= box.left && p.x <= box.left + box.width && p.y >= box.top && p.y <= box.top + box.height;
}

/**
 * The mouse's position when it is over the canvas element now: inside its bounding box, and the
 * topmost element there is part of the canvas and not of a dialog drawn over it. Null otherwise.
 */
export function pointerOverCanvas(
  canvas: Element | null,
  last: Point | null = pointer.last,
  topAt: (x: number, y: number) => Element | null = (x, y) => document.elementFromPoint(x, y),
): Point | null {
  if (!canvas || !last || !insideBox(last, canvas.getBoundingClientRect())) return null;
  const top = topAt(last.x, last.y);
  if (!top || !canvas.contains(top) || top.closest('[role="dialog"], [aria-modal="true"]')) return null;
  return last;
}
