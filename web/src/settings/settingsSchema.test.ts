import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, edgeTypeFor, previewMethodToSend, readSetting, settingsFromServer } from './settingsSchema';

describe('editor settings', () => {
  it('reads ComfyUI setting ids from a GET /settings body and ignores the rest', () => {
    const s = settingsFromServer({
      'Comfy.LinkRenderMode': 0,
      'pysssss.SnapToGrid': true,
      'Comfy.SnapToGrid.GridSize': 25,
      'Comfy.Execution.PreviewMethod': 'none',
      'Comfy.ColorPalette': 'light',
      'Comfy.Locale': 'fr',
    });
    expect(s).toEqual({ linkRenderMode: 0, snapToGrid: true, gridSize: 25, previewMethod: 'none', theme: 'light' });
  });

  it('falls back to the defaults for missing, malformed or foreign values', () => {
    expect(settingsFromServer(null)).toEqual(DEFAULT_SETTINGS);
    expect(
      settingsFromServer({ 'Comfy.LinkRenderMode': 'spline', 'pysssss.SnapToGrid': 'yes', 'Comfy.ColorPalette': 'solarized' }),
    ).toEqual(DEFAULT_SETTINGS);
    expect(readSetting('gridSize', 0)).toBe(1);
    expect(readSetting('gridSize', 9999)).toBe(500);
    expect(readSetting('gridSize', 12.6)).toBe(13);
    expect(readSetting('previewMethod', 'fast')).toBe('auto');
  });

  it('maps link modes onto React Flow edge types', () => {
    expect(edgeTypeFor(2)).toBe('default');
    expect(edgeTypeFor(1)).toBe('straight');
    expect(edgeTypeFor(0)).toBe('step');
    expect(edgeTypeFor(-1)).toBe('default');
  });

  it('sends no preview_method for "default" (the server decides)', () => {
    expect(previewMethodToSend('default')).toBeUndefined();
    expect(previewMethodToSend('taesd')).toBe('taesd');
  });
});
