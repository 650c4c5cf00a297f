import { describe, expect, it } from 'vitest';
import { applyMove, moveFor, type QueueMoveAction } from './queueOrder';

const ids = ['a', 'b', 'c', 'd'];

describe('moveFor', () => {
  it('sends front/back as `to` and up/down as `before` (down to the last place as back)', () => {
    expect(moveFor(ids, 'c', 'front')).toEqual({ prompt_id: 'c', to: 'front' });
    expect(moveFor(ids, 'b', 'back')).toEqual({ prompt_id: 'b', to: 'back' });
    expect(moveFor(ids, 'c', 'up')).toEqual({ prompt_id: 'c', before: 'b' });
    expect(moveFor(ids, 'a', 'down')).toEqual({ prompt_id: 'a', before: 'c' });
    expect(moveFor(ids, 'c', 'down')).toEqual({ prompt_id: 'c', to: 'back' });
  });

  it('is null at the edges and for an id that is not pending', () => {
    expect(moveFor(ids, 'a', 'front')).toBeNull();
    expect(moveFor(ids, 'a', 'up')).toBeNull();
    expect(moveFor(ids, 'd', 'down')).toBeNull();
    expect(moveFor(ids, 'd', 'back')).toBeNull();
    expect(moveFor(ids, 'zz', 'front')).toBeNull();
    expect(moveFor(['a'], 'a', 'down')).toBeNull();
  });

  it('each action, applied, puts the prompt where its name says', () => {
    const cases: [string, QueueMoveAction, string[]][] = [
      ['c', 'front', ['c', 'a', 'b', 'd']],
      ['c', 'up', ['a', 'c', 'b', 'd']],
      ['b', 'down', ['a', 'c', 'b', 'd']],
      ['c', 'down', ['a', 'b', 'd', 'c']],
      ['a', 'back', ['b', 'c', 'd', 'a']],
    ];
    for (const [id, action, expected] of cases) expect(applyMove(ids, moveFor(ids, id, action)!)).toEqual(expected);
  });
});

describe('applyMove', () => {
  it('leaves the order alone for unknown ids', () => {
    expect(applyMove(ids, { prompt_id: 'zz', to: 'front' })).toEqual(ids);
    expect(applyMove(ids, { prompt_id: 'a', before: 'zz' })).toEqual(ids);
  });
});
