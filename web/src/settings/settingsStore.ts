/**
 * The settings as the editor holds them: loaded once from GET /settings (the read shared with the
 * keyboard shortcuts, storedSettings.ts) before the canvas is drawn, saved one at a time with
 * POST /settings/{id}, applied at once (the theme on <html>).
 */
import { Store } from '../store/store';
import { readStoredSettings } from './storedSettings';
import { DEFAULT_SETTINGS, type EditorSettings, readSetting, SETTING_IDS, type SettingKey, settingsFromServer } from './settingsSchema';

export const settingsStore = new Store<EditorSettings>({ ...DEFAULT_SETTINGS });

/** Puts what the page-wide CSS reads on the root element: the theme and hidden links. */
function applyToDocument(s: EditorSettings): void {
  const root = document.documentElement;
  root.dataset.theme = s.theme;
  root.dataset.linkMode = s.linkRenderMode === -1 ? 'hidden' : 'shown';
}

settingsStore.subscribe(() => applyToDocument(settingsStore.get()));

/** Reads the stored settings; a server without them (or unreachable) leaves the defaults. */
export async function loadSettings(): Promise<EditorSettings> {
  const read = await readStoredSettings();
  if (read.ok) {
    try {
      settingsStore.set(settingsFromServer(read.values));
    } catch {
      /* defaults stay */
    }
  }
  applyToDocument(settingsStore.get());
  return settingsStore.get();
}

/** Applies one setting now and stores it on the server; a failed save is reported, the value stays. */
export async function changeSetting<K extends SettingKey>(key: K, value: EditorSettings[K]): Promise<void> {
  const checked = readSetting(key, value);
  settingsStore.set({ [key]: checked } as Partial<EditorSettings>);
  const res = await fetch(`/settings/${encodeURIComponent(SETTING_IDS[key])}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(checked),
  });
  if (!res.ok) throw new Error(`Saving the setting ${SETTING_IDS[key]} failed: HTTP ${res.status}`);
}
