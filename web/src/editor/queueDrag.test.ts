import { describe, expect, it } from 'vitest';
import { dropGapAt, dropMove, droppedOrder, shownOrder } from './queueDrag';

const ids = ['a', 'b', 'c', 'd'];
// four 20 px rows from y = 100
const rows = ids.map((_, i) => ({ top: 100 + 20 * i, bottom: 120 + 20 * i }));

describe('dropGapAt', () => {
  it('points before a row from its upper half and after it from its lower half', () => {
    expect(dropGapAt(50, rows)).toBe(0);
    expect(dropGapAt(109, rows)).toBe(0);
    expect(dropGapAt(111, rows)).toBe(1);
    expect(dropGapAt(135, rows)).toBe(2);
    expect(dropGapAt(171, rows)).toBe(4);
    expect(dropGapAt(500, rows)).toBe(4);
    expect(dropGapAt(10, [])).toBe(0);
  });
});

describe('dropMove', () => {
  it('sends `before` the prompt after the gap, and `to: back` for the gap after the last', () => {
    expect(dropMove(ids, 'd', 0)).toEqual({ prompt_id: 'd', before: 'a' });
    expect(dropMove(ids, 'a', 2)).toEqual({ prompt_id: 'a', before: 'c' });
    expect(dropMove(ids, 'c', 1)).toEqual({ prompt_id: 'c', before: 'b' });
    expect(dropMove(ids, 'a', 4)).toEqual({ prompt_id: 'a', to: 'back' });
    expect(dropMove(ids, 'c', 4)).toEqual({ prompt_id: 'c', to: 'back' });
  });

  it('is null next to the dragged prompt, outside the list and for a prompt that is not pending', () => {
    expect(dropMove(ids, 'b', 1)).toBeNull();
    expect(dropMove(ids, 'b', 2)).toBeNull();
    expect(dropMove(ids, 'd', 4)).toBeNull();
    expect(dropMove(ids, 'a', 0)).toBeNull();
    expect(dropMove(ids, 'a', -1)).toBeNull();
    expect(dropMove(ids, 'a', 5)).toBeNull();
    expect(dropMove(ids, 'a', 1.5)).toBeNull();
    expect(dropMove(ids, 'running', 0)).toBeNull();
    expect(dropMove(['a'], 'a', 1)).toBeNull();
  });
});

describe('droppedOrder', () => {
  it('is the order the server makes of the same move', () => {
    expect(droppedOrder(ids, 'd', 0)).toEqual(['d', 'a', 'b', 'c']);
    expect(droppedOrder(ids, 'a', 2)).toEqual(['b', 'a', 'c', 'd']);
    expect(droppedOrder(ids, 'a', 4)).toEqual(['b', 'c', 'd', 'a']);
    expect(droppedOrder(ids, 'c', 1)).toEqual(['a', 'c', 'b', 'd']);
    expect(droppedOrder(ids, 'zz', 1)).toEqual(ids);
  });
});

describe('shownOrder', () => {
  it('shows the drop while it lists exactly the server prompts, else the server order', () => {
    expect(shownOrder(ids, null)).toBe(ids);
    expect(shownOrder(ids, ['d', 'a', 'b', 'c'])).toEqual(['d', 'a', 'b', 'c']);
    expect(shownOrder(['b', 'c', 'd'], ['d', 'a', 'b', 'c'])).toEqual(['b', 'c', 'd']); // a started
    expect(shownOrder([...ids, 'e'], ['d', 'a', 'b', 'c'])).toEqual([...ids, 'e']); // e was queued
    expect(shownOrder(['a', 'b', 'c', 'e'], ['d', 'a', 'b', 'c'])).toEqual(['a', 'b', 'c', 'e']);
  });
});
