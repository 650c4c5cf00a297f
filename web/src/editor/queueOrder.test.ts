import { describe, expect, it } from 'vitest';
import { moveFailureText, moveFor } from './queueOrder';

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

describe('moveFailureText', () => {
  it("shows the server's sentence of a refused move, else the error as it is", () => {
    const body = JSON.stringify({ error: { type: 'invalid_request', message: 'A prompt cannot be moved before itself.' } });
    expect(moveFailureText(new Error(`POST /queue failed: HTTP 400 — ${body}`))).toBe(
      'The queue did not move: A prompt cannot be moved before itself.',
    );
    expect(moveFailureText(new Error('POST /queue failed: HTTP 400 — {"error": {"mess'))).toBe(
      'POST /queue failed: HTTP 400 — {"error": {"mess',
    );
    expect(moveFailureText(new Error('Failed to fetch'))).toBe('Failed to fetch');
  });
});
