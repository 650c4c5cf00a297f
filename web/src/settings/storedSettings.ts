/**
 * GET /settings, read for everyone who needs it at the same time: the editor settings
 * (settingsStore) and the keyboard shortcuts (keybindingStore) both start by reading it, and a read
 * still on its way is shared, so the editor asks the server once at start. A read asked for after
 * the last one settled goes to the server again (the stored values may have changed).
 */

/** What the read brought: the stored values, or why there are none (the callers keep their defaults). */
export type StoredSettingsRead =
  | { ok: true; values: unknown }
  /** The server answered with an error status (no settings route, refused). */
  | { ok: false; reason: 'refused'; status: number }
  /** No answer, or an answer that is not JSON. */
  | { ok: false; reason: 'unreadable'; error: unknown };

let inFlight: Promise<StoredSettingsRead> | null = null;

async function readOnce(): Promise<StoredSettingsRead> {
  try {
    const res = await fetch('/settings');
    if (!res.ok) return { ok: false, reason: 'refused', status: res.status };
    return { ok: true, values: await res.json() };
  } catch (error) {
    return { ok: false, reason: 'unreadable', error };
  }
}

/** The stored settings; joins a read already on its way rather than sending another. Never throws. */
export function readStoredSettings(): Promise<StoredSettingsRead> {
  if (!inFlight) inFlight = readOnce().finally(() => (inFlight = null));
  return inFlight;
}
