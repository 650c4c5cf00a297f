/**
 * The user's keyboard shortcut changes as the editor holds them: read from GET /settings at
 * start (the read shared with settingsStore, storedSettings.ts), replaced as a whole on each
 * change and stored at once with one POST /settings (both ComfyUI setting ids). The key handler
 * reads this store on every key press, so a change is in force immediately.
 */
import { runStore } from '../store/runStore';
import { Store } from '../store/store';
import { readStoredSettings } from './storedSettings';
import { keybindingsFromServer, keybindingsToServer, NO_USER_KEYBINDINGS, type UserKeybindings } from './keybindings';

export const keybindingStore = new Store<UserKeybindings>({ ...NO_USER_KEYBINDINGS });

let changes = 0; // changes made here since start: a slow first read must not undo them
let saving: Promise<unknown> = Promise.resolve(); // saves go out one after another, in order

/** Reads the stored bindings; a server without them (or unreachable) leaves the defaults. A change the user
 * made while the read was on its way wins over what it brings. */
export async function loadKeybindings(): Promise<void> {
  const before = changes;
  const read = await readStoredSettings();
  if (!read.ok) {
    if (read.reason === 'unreadable')
      console.warn('Keyboard shortcuts: the stored bindings could not be read; the defaults apply', read.error);
    return;
  }
  try {
    const stored = keybindingsFromServer(read.values);
    if (changes === before) keybindingStore.set(stored);
  } catch (e) {
    console.warn('Keyboard shortcuts: the stored bindings could not be read; the defaults apply', e);
  }
}

/** Puts `next` in force now and stores it after any save still on its way (so the server ends with the
 * last change); a failed save is reported, the bindings stay. */
export function changeKeybindings(next: UserKeybindings): Promise<void> {
  changes += 1;
  keybindingStore.set(next);
  const body = JSON.stringify(keybindingsToServer(next));
  const save = saving.then(() =>
    fetch('/settings', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
      .then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      })
      .catch((e: Error) => runStore.notify(`Saving the keyboard shortcuts failed: ${e.message}`, 'error')),
  );
  saving = save;
  return save;
}
