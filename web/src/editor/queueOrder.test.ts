import { describe, expect, it } from 'vitest';
import { moveFor } from './queueOrder';

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
});
