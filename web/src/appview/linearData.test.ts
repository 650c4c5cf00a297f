import { describe, expect, it } from 'vitest';
import {
  appFields,
  appOutputNodeIds,
  hasAppField,
  withAppField,
  withMovedAppField,
  withMovedAppOutput,
  withoutAppField,
} from './linearData';

const seed = { nodeId: '3', widget: 'seed' };
const prompt = { nodeId: '6', widget: 'text' };

describe('app view fields in extra.linearData', () => {
  it('adds fields as ComfyUI [nodeId, widgetName] entries, once each, keeping the rest of extra', () => {
    let extra: Record<string, unknown> = { ds: { scale: 1 } };
    extra = withAppField(extra, prompt);
    extra = withAppField(extra, seed);
    expect(withAppField(extra, seed)).toBe(extra);
    expect(extra).toEqual({
      ds: { scale: 1 },
      linearData: {
        inputs: [
          [6, 'text'],
          [3, 'seed'],
        ],
        outputs: [],
      },
    });
    expect(appFields(extra)).toEqual([prompt, seed]);
    expect(hasAppField(extra, seed)).toBe(true);
  });

  it('reads what ComfyUI writes: numeric, string and "graphId:nodeId:name" ids, config and outputs kept', () => {
    const extra = {
      linearData: {
        inputs: [['a1b2-root:6:text', 'text', { height: 120 }], [3, 'seed'], ['12', 'steps'], ['broken'], [null, 'cfg']],
        outputs: [9, '10'],
      },
    };
    expect(appFields(extra)).toEqual([prompt, seed, { nodeId: '12', widget: 'steps' }]);
    expect(appOutputNodeIds(extra)).toEqual(['9', '10']);
    const moved = withMovedAppField(extra, 0, 1) as { linearData: { inputs: unknown[]; outputs: unknown[] } };
    expect(moved.linearData.inputs[0]).toEqual([3, 'seed']);
    expect(moved.linearData.inputs[1]).toEqual(['a1b2-root:6:text', 'text', { height: 120 }]);
    expect(moved.linearData.outputs).toEqual([9, '10']);
  });

  it('ignores a malformed linearData', () => {
    expect(appFields({ linearData: 'x' })).toEqual([]);
    expect(appFields({ linearData: { inputs: 5 } })).toEqual([]);
    expect(appFields({})).toEqual([]);
    expect(appOutputNodeIds({ linearData: [] })).toEqual([]);
  });

  it('moves fields up and down, not past the ends, and removes them', () => {
    const extra = [prompt, seed, { nodeId: '5', widget: 'width' }].reduce(withAppField, {} as Record<string, unknown>);
    expect(appFields(withMovedAppField(extra, 2, -1)).map((f) => f.widget)).toEqual(['text', 'width', 'seed']);
    expect(appFields(withMovedAppField(extra, 0, 1)).map((f) => f.widget)).toEqual(['seed', 'text', 'width']);
    expect(withMovedAppField(extra, 0, -1)).toBe(extra);
    expect(withMovedAppField(extra, 2, 1)).toBe(extra);
    expect(appFields(withoutAppField(extra, 1)).map((f) => f.widget)).toEqual(['text', 'width']);
    expect(appFields(withoutAppField(extra, 7))).toHaveLength(3);
  });

  it('moves and removes by readable position, leaving unreadable entries where they were', () => {
    const extra = { linearData: { inputs: [[6, 'text'], ['junk'], [3, 'seed']], outputs: [] } };
    const moved = withMovedAppField(extra, 1, -1) as { linearData: { inputs: unknown[] } };
    expect(moved.linearData.inputs).toEqual([[3, 'seed'], ['junk'], [6, 'text']]);
    const removed = withoutAppField(extra, 1) as { linearData: { inputs: unknown[] } };
    expect(removed.linearData.inputs).toEqual([[6, 'text'], ['junk']]);
  });

  it('moves a chosen output up and down in extra.linearData.outputs, not past the ends', () => {
    const extra = { ds: { scale: 1 }, linearData: { inputs: [[6, 'text']], outputs: [9, '10', 12] } };
    const up = withMovedAppOutput(extra, '12', -1);
    expect(up).toEqual({ ds: { scale: 1 }, linearData: { inputs: [[6, 'text']], outputs: [9, 12, '10'] } });
    expect(appOutputNodeIds(withMovedAppOutput(extra, '9', 1))).toEqual(['10', '9', '12']);
    expect(withMovedAppOutput(extra, '9', -1)).toBe(extra);
    expect(withMovedAppOutput(extra, '12', 1)).toBe(extra);
    expect(withMovedAppOutput(extra, '77', 1)).toBe(extra); // not chosen
  });

  it('moves outputs past unreadable entries and repeats, which stay where they were', () => {
    const extra = { linearData: { inputs: [], outputs: [9, null, 9, {}, 12] } };
    const moved = withMovedAppOutput(extra, '12', -1) as { linearData: { outputs: unknown[] } };
    expect(moved.linearData.outputs).toEqual([12, null, 9, {}, 9]);
  });
});
