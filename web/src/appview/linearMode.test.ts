import { describe, expect, it } from 'vitest';
import { appOutputNodeIds, withAppOutput, withoutAppOutput } from './linearData';
import { savedInAppView, withViewMode } from './linearMode';

describe('the stored view, extra.linearMode (ComfyUI: true opens in app mode)', () => {
  it('reads only a true linearMode as the app view', () => {
    expect(savedInAppView({ linearMode: true })).toBe(true);
    expect(savedInAppView({ linearMode: false })).toBe(false);
    expect(savedInAppView({ linearMode: 'yes' })).toBe(false);
    expect(savedInAppView({})).toBe(false);
  });

  it('writes true for the app view, false for the graph only once a view was named', () => {
    const extra = { ds: { scale: 1 } };
    expect(withViewMode(extra, false)).toBe(extra);
    const app = withViewMode(extra, true);
    expect(app).toEqual({ ds: { scale: 1 }, linearMode: true });
    expect(withViewMode(app, true)).toBe(app);
    expect(withViewMode(app, false)).toEqual({ ds: { scale: 1 }, linearMode: false });
  });
});

describe('app view outputs in extra.linearData.outputs', () => {
  it('appends node ids as ComfyUI numbers, once each, in the chosen order, and takes them out', () => {
    let extra: Record<string, unknown> = { linearData: { inputs: [[3, 'seed']], outputs: [null] } }; // an entry it cannot read stays
    extra = withAppOutput(extra, '12');
    extra = withAppOutput(extra, '9');
    expect(withAppOutput(extra, '12')).toBe(extra);
    expect(extra.linearData).toEqual({ inputs: [[3, 'seed']], outputs: [null, 12, 9] });
    expect(appOutputNodeIds(extra)).toEqual(['12', '9']);
    extra = withoutAppOutput(extra, '12');
    expect(extra.linearData).toEqual({ inputs: [[3, 'seed']], outputs: [null, 9] });
    expect(withoutAppOutput(extra, '77')).toBe(extra);
    expect(withAppOutput({}, 'x-1')).toEqual({ linearData: { inputs: [], outputs: ['x-1'] } });
  });
});
