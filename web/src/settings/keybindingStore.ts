/**
 * The user's keyboard shortcut changes as the editor holds them: read from GET /settings at
 * start, replaced as a whole on each change and stored at once with one POST /settings (both
 * ComfyUI setting ids). The key handler reads this store on every key press, so a change is in
 * force immediately.
 */
import { runStore } from '../store/runStore';
import { Store } from '../store/store';
import { keybindingsFromServer, keybindingsToServer, NO_USER_KEYBINDINGS, type UserKeybindings } from './keybindings';

export const keybindingStore = new Store<UserKeybindings>({ ...NO_USER_KEYBINDINGS });

/** Reads the stored bindings; a server without them (or unreachable) leaves the defaults. */
export async function loadKeybindings(): Promise<void> {
  try {
    const res = await fetch('/settings');
    if (res.ok) keybindingStore.set(keybindingsFromServer(await res.json()));
  } catch (e) {
    console.warn('Keyboard shortcuts: the stored bindings could not be read; the defaults apply', e);
  }
}

/** Puts `next` in force now and stores it; a failed save is reported, the bindings stay. */
export function changeKeybindings(next: UserKeybindings): void {
  keybindingStore.set(next);
  fetch('/settings', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(keybindingsToServer(next)),
  })
    .then((res) => {
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    })
    .catch((e: Error) => runStore.notify(`Saving the keyboard shortcuts failed: ${e.message}`, 'error'));
}
