import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NO_USER_KEYBINDINGS } from './keybindings';
import { keybindingStore, loadKeybindings } from './keybindingStore';
import { DEFAULT_SETTINGS } from './settingsSchema';
import { loadSettings, settingsStore } from './settingsStore';
import { readStoredSettings } from './storedSettings';

const stored = {
  'Comfy.ColorPalette': 'light',
  'Comfy.Keybinding.NewBindings': [{ commandId: 'Comfy.Undo', combo: { key: 'u', ctrl: false, alt: false, shift: false } }],
  'Comfy.Keybinding.UnsetBindings': [],
};

/** Starts the editor's settings the way App.tsx does: both stores at once. */
const start = () => Promise.all([loadSettings(), loadKeybindings()]);

beforeEach(() => {
  vi.stubGlobal('document', { documentElement: { dataset: {} } }); // settingsStore puts the theme on <html>
});

afterEach(() => {
  settingsStore.set({ ...DEFAULT_SETTINGS });
  keybindingStore.set({ ...NO_USER_KEYBINDINGS });
  vi.unstubAllGlobals();
});

describe('the settings read at start', () => {
  it('is one GET /settings that fills both the settings and the keyboard shortcuts', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify(stored)));
    vi.stubGlobal('fetch', fetch);
    await start();
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch).toHaveBeenCalledWith('/settings');
    expect(settingsStore.get().theme).toBe('light');
    expect(keybindingStore.get().newBindings[0].combo.key).toBe('u');
  });

  it('a read asked for after the last one settled goes to the server again', async () => {
    const fetch = vi.fn(async () => new Response('{}'));
    vi.stubGlobal('fetch', fetch);
    await readStoredSettings();
    await readStoredSettings();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it.each([
    ['refused', async () => new Response('no settings here', { status: 404 })],
    ['not JSON', async () => new Response('<html>', { status: 200 })],
    [
      'unreachable',
      async () => {
        throw new TypeError('Failed to fetch');
      },
    ],
  ])('%s: one request, and both keep their defaults', async (_, answer) => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const fetch = vi.fn(answer);
    vi.stubGlobal('fetch', fetch);
    await start();
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(settingsStore.get()).toEqual(DEFAULT_SETTINGS);
    expect(keybindingStore.get()).toEqual(NO_USER_KEYBINDINGS);
    warn.mockRestore();
  });
});
