import { describe, expect, it } from 'vitest';
import { insideBox, pointerOverCanvas } from './pointer';

const box = { left: 100, top: 50, width: 800, height: 600 };

/** A stand-in element: `inDialog` says whether it sits in a dialog. */
function el(inDialog = false): Element {
  return { closest: (sel: string) => (inDialog && sel.includes('dialog') ? ({} as Element) : null) } as unknown as Element;
}

function canvasWith(...children: Element[]): Element {
  return { getBoundingClientRect: () => box, contains: (e: Element) => children.includes(e) } as unknown as Element;
}

describe('the pointer over the canvas', () => {
  it('is inside the bounding box, edges included', () => {
    expect(insideBox({ x: 100, y: 50 }, box)).toBe(true);
    expect(insideBox({ x: 900, y: 650 }, box)).toBe(true);
    expect(insideBox({ x: 99, y: 300 }, box)).toBe(false);
    expect(insideBox({ x: 500, y: 651 }, box)).toBe(false);
  });

  it('is used when the topmost element under it is part of the canvas', () => {
    const pane = el();
    expect(pointerOverCanvas(canvasWith(pane), { x: 400, y: 300 }, () => pane)).toEqual({ x: 400, y: 300 });
  });

  it('is not used outside the canvas box (a side panel, the queue panel) or never moved', () => {
    const pane = el();
    expect(pointerOverCanvas(canvasWith(pane), { x: 40, y: 300 }, () => pane)).toBeNull();
    expect(pointerOverCanvas(canvasWith(pane), { x: 950, y: 300 }, () => pane)).toBeNull();
    expect(pointerOverCanvas(canvasWith(pane), null, () => pane)).toBeNull();
    expect(pointerOverCanvas(null, { x: 400, y: 300 }, () => pane)).toBeNull();
  });

  it('is not used over something drawn on top of the canvas: a dialog, or an element outside it', () => {
    const inDialog = el(true);
    expect(pointerOverCanvas(canvasWith(inDialog), { x: 400, y: 300 }, () => inDialog)).toBeNull();
    expect(pointerOverCanvas(canvasWith(el()), { x: 400, y: 300 }, () => el())).toBeNull();
    expect(pointerOverCanvas(canvasWith(el()), { x: 400, y: 300 }, () => null)).toBeNull();
  });
});
