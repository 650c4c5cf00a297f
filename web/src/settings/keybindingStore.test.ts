import { afterEach, describe, expect, it, vi } from 'vitest';
import { runStore } from '../store/runStore';
import { NO_USER_KEYBINDINGS, type UserKeybindings } from './keybindings';
import { changeKeybindings, keybindingStore, loadKeybindings } from './keybindingStore';

const undoOn = (key: string): UserKeybindings => ({
  newBindings: [{ commandId: 'Comfy.Undo', combo: { key, ctrl: false, alt: false, shift: false } }],
  unsetBindings: [],
});

afterEach(() => {
  vi.unstubAllGlobals();
  keybindingStore.set({ ...NO_USER_KEYBINDINGS });
});

describe('saving keyboard shortcuts', () => {
  it('sends the saves one after another, so the server ends with the last change', async () => {
    const arrived: string[] = [];
    let releaseFirst: () => void = () => {};
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
      const key = JSON.parse(String(init.body))['Comfy.Keybinding.NewBindings'][0].combo.key as string;
      if (key === 'a') await firstHeld; // the first save is slow on the wire
      arrived.push(key);
      return new Response('{}', { status: 200 });
    });
    const first = changeKeybindings(undoOn('a'));
    const second = changeKeybindings(undoOn('b'));
    releaseFirst();
    await Promise.all([first, second]);
    expect(arrived).toEqual(['a', 'b']);
  });

  it('a change made while the stored bindings are being read is not undone by them', async () => {
    let answer: (r: Response) => void = () => {};
    vi.stubGlobal('fetch', (_url: string, init?: RequestInit) =>
      init?.method === 'POST' ? Promise.resolve(new Response('{}')) : new Promise<Response>((resolve) => (answer = resolve)),
    );
    const loading = loadKeybindings();
    await changeKeybindings(undoOn('c'));
    answer(new Response(JSON.stringify({ 'Comfy.Keybinding.NewBindings': [], 'Comfy.Keybinding.UnsetBindings': [] })));
    await loading;
    expect(keybindingStore.get().newBindings[0].combo.key).toBe('c');
  });

  it('a refused or failed save says so and keeps the bindings in force', async () => {
    const notify = vi.spyOn(runStore, 'notify');
    vi.stubGlobal('fetch', async () => new Response('{}', { status: 500 }));
    await changeKeybindings(undoOn('d'));
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('network down');
    });
    await changeKeybindings(undoOn('e'));
    expect(notify.mock.calls.map((c) => c[0])).toEqual([
      'Saving the keyboard shortcuts failed: HTTP 500',
      'Saving the keyboard shortcuts failed: network down',
    ]);
    expect(keybindingStore.get().newBindings[0].combo.key).toBe('e');
    notify.mockRestore();
  });

  it('an unreadable or refused read leaves the defaults', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubGlobal('fetch', async () => new Response('nope', { status: 503 }));
    await loadKeybindings();
    vi.stubGlobal('fetch', async () => new Response('not json', { status: 200 }));
    await loadKeybindings();
    expect(keybindingStore.get()).toEqual(NO_USER_KEYBINDINGS);
    expect(warn).toHaveBeenCalledTimes(1); // the body that was not JSON
    warn.mockRestore();
  });
});
