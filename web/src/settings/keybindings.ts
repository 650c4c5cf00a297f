/**
 * Keyboard shortcut rebinding, as ComfyUI stores it: the user's changes are two lists of
 * bindings, Comfy.Keybinding.NewBindings (added) and Comfy.Keybinding.UnsetBindings (defaults
 * taken away), and what the keys do is defaults + new − unset, a user binding beating a default
 * on the same combo. Pure: no React, no fetch, no editor imports.
 */

/** ComfyUI's setting ids for the two lists (ComfyUI_frontend coreSettings.ts). */
export const KEYBINDING_SETTING_IDS = {
  newBindings: 'Comfy.Keybinding.NewBindings',
  unsetBindings: 'Comfy.Keybinding.UnsetBindings',
} as const;

/**
 * A key with its modifiers (ComfyUI's KeyCombo); a modifier left out is not held. Ctrl also means
 * Cmd, and `meta` (Cmd, as ComfyUI may store it) counts as Ctrl when keys are matched; it is kept
 * as read only so that a stored binding is written back as it was.
 */
export interface KeyCombo {
  key: string;
  ctrl?: boolean;
  alt?: boolean;
  shift?: boolean;
  meta?: boolean;
}

/** One combo running one command (ComfyUI's Keybinding). targetElementId is kept, not used. */
export interface Keybinding {
  commandId: string;
  combo: KeyCombo;
  targetElementId?: string;
}

/** What the user changed, in the stored shape. */
export interface UserKeybindings {
  newBindings: Keybinding[];
  unsetBindings: Keybinding[];
}

export const NO_USER_KEYBINDINGS: UserKeybindings = { newBindings: [], unsetBindings: [] };

const MODIFIER_KEYS = new Set(['Control', 'Shift', 'Alt', 'Meta', 'AltGraph', 'CapsLock', 'OS']);

/** One string per combo, case-blind on the key, as ComfyUI serializes it ("Z:true:false:true"). */
export function comboId(c: KeyCombo): string {
  return `${c.key.toUpperCase()}:${Boolean(c.ctrl || c.meta)}:${Boolean(c.alt)}:${Boolean(c.shift)}`;
}

export function sameCombo(a: KeyCombo, b: KeyCombo): boolean {
  return comboId(a) === comboId(b);
}

/** Same command on the same combo (targetElementId aside: this editor has no element scopes). */
export function sameBinding(a: Keybinding, b: Keybinding): boolean {
  return a.commandId === b.commandId && sameCombo(a.combo, b.combo);
}

/**
 * The combo in the stored form: every modifier written out, as ComfyUI writes them; `meta` only
 * when the combo has one (read from a stored value), so a value read and written back is unchanged.
 */
export function normalCombo(c: KeyCombo): Required<Omit<KeyCombo, 'meta'>> & Pick<KeyCombo, 'meta'> {
  const key = c.key.length === 1 ? c.key.toLowerCase() : c.key;
  const out = { key, ctrl: Boolean(c.ctrl), alt: Boolean(c.alt), shift: Boolean(c.shift) };
  return c.meta === undefined ? out : { ...out, meta: c.meta };
}

/** "Ctrl+Shift+Enter", as the shortcut list shows a combo. */
export function comboLabel(combo: KeyCombo): string {
  const key = combo.key === ' ' ? 'Space' : combo.key.length === 1 ? combo.key.toUpperCase() : combo.key;
  return [(combo.ctrl || combo.meta) && 'Ctrl', combo.alt && 'Alt', combo.shift && 'Shift', key].filter(Boolean).join('+');
}

/** The part of a keyboard event a combo is read from. */
export type KeyPress = Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>;

export function comboMatches(combo: KeyCombo, e: KeyPress): boolean {
  return sameCombo(combo, comboFromPress(e));
}

/** The combo a key press stands for (Cmd counts as Ctrl). */
export function comboFromPress(e: KeyPress): KeyCombo {
  return { key: e.key, ctrl: e.ctrlKey || e.metaKey, alt: e.altKey, shift: e.shiftKey };
}

/** What the recorder makes of a key press: a combo, "cancel" (plain Escape) or nothing yet (a modifier). */
export function recordPress(e: KeyPress): KeyCombo | 'cancel' | null {
  if (MODIFIER_KEYS.has(e.key) || e.key === 'Dead' || e.key === 'Unidentified') return null;
  if (e.key === 'Escape' && !e.ctrlKey && !e.metaKey && !e.altKey && !e.shiftKey) return 'cancel';
  return normalCombo(comboFromPress(e));
}

function isBool(v: unknown): boolean {
  return v === undefined || typeof v === 'boolean';
}

/** One stored entry read as a binding, or undefined when it has the wrong shape. */
function readBinding(v: unknown): Keybinding | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const { commandId, combo, targetElementId } = v as Record<string, unknown>;
  if (typeof commandId !== 'string' || !commandId || !combo || typeof combo !== 'object') return undefined;
  const c = combo as Record<string, unknown>;
  if (typeof c.key !== 'string' || !c.key || !isBool(c.ctrl) || !isBool(c.alt) || !isBool(c.shift) || !isBool(c.meta)) {
    return undefined;
  }
  if (targetElementId !== undefined && typeof targetElementId !== 'string') return undefined;
  const binding: Keybinding = {
    commandId,
    combo: { key: c.key, ctrl: Boolean(c.ctrl), alt: Boolean(c.alt), shift: Boolean(c.shift) },
  };
  if (c.meta !== undefined) binding.combo.meta = c.meta as boolean; // matched as Ctrl, written back as read
  // ComfyUI's old canvas id, renamed as ComfyUI itself does.
  if (targetElementId) binding.targetElementId = targetElementId === 'graph-canvas' ? 'graph-canvas-container' : targetElementId;
  return binding;
}

/** A stored list of bindings; a value or entry of the wrong shape is left out with a console warning. */
export function parseBindings(value: unknown, settingId: string): Keybinding[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    console.warn(`Ignoring the setting ${settingId}: a list of keybindings was expected`, value);
    return [];
  }
  const out: Keybinding[] = [];
  for (const entry of value) {
    const binding = readBinding(entry);
    if (binding) out.push(binding);
    else console.warn(`Ignoring a malformed keybinding in ${settingId}`, entry);
  }
  return out;
}

/** The user's bindings found in a GET /settings body. */
export function keybindingsFromServer(stored: unknown): UserKeybindings {
  const body = stored && typeof stored === 'object' ? (stored as Record<string, unknown>) : {};
  return {
    newBindings: parseBindings(body[KEYBINDING_SETTING_IDS.newBindings], KEYBINDING_SETTING_IDS.newBindings),
    unsetBindings: parseBindings(body[KEYBINDING_SETTING_IDS.unsetBindings], KEYBINDING_SETTING_IDS.unsetBindings),
  };
}

/** The POST /settings body that stores the user's bindings. */
export function keybindingsToServer(user: UserKeybindings): Record<string, Keybinding[]> {
  const out = (list: Keybinding[]) => list.map((b) => ({ ...b, combo: normalCombo(b.combo) }));
  return {
    [KEYBINDING_SETTING_IDS.newBindings]: out(user.newBindings),
    [KEYBINDING_SETTING_IDS.unsetBindings]: out(user.unsetBindings),
  };
}

/** The defaults still in force: not unset and not taken over by a user binding on their combo. */
function activeDefaults(defaults: Keybinding[], user: UserKeybindings): Keybinding[] {
  return defaults.filter(
    (d) => !user.unsetBindings.some((u) => sameBinding(u, d)) && !user.newBindings.some((n) => sameCombo(n.combo, d.combo)),
  );
}

/** What the keys do now: the user's bindings first (they win a combo), then the defaults left. */
export function effectiveBindings(defaults: Keybinding[], user: UserKeybindings): Keybinding[] {
  return [...user.newBindings, ...activeDefaults(defaults, user)];
}

/** The binding a combo runs now, if any. */
export function bindingFor(combo: KeyCombo, effective: Keybinding[]): Keybinding | undefined {
  return effective.find((b) => sameCombo(b.combo, combo));
}

/** The binding of another command already on `combo`: binding it to `commandId` takes it away from that one. */
export function findConflict(effective: Keybinding[], commandId: string, combo: KeyCombo): Keybinding | undefined {
  return effective.find((b) => b.commandId !== commandId && sameCombo(b.combo, combo));
}

/** Takes one binding away: a user binding is dropped, a default is unset. */
export function unbind(defaults: Keybinding[], user: UserKeybindings, binding: Keybinding): UserKeybindings {
  if (user.newBindings.some((b) => sameBinding(b, binding))) {
    return { ...user, newBindings: user.newBindings.filter((b) => !sameBinding(b, binding)) };
  }
  const d = activeDefaults(defaults, user).find((b) => sameBinding(b, binding));
  return d ? { ...user, unsetBindings: [...user.unsetBindings, d] } : user;
}

/** Puts `binding` in force; whatever else had its combo loses it (a default is unset). */
export function bind(defaults: Keybinding[], user: UserKeybindings, binding: Keybinding): UserKeybindings {
  const isDefault = defaults.some((d) => sameBinding(d, binding));
  const others = (list: Keybinding[]) => list.filter((b) => !sameCombo(b.combo, binding.combo));
  if (isDefault) {
    // Back to the default: it is un-unset; a user binding on its combo goes.
    return {
      newBindings: others(user.newBindings),
      unsetBindings: user.unsetBindings.filter((b) => !sameBinding(b, binding)),
    };
  }
  const displaced = activeDefaults(defaults, user).filter((d) => sameCombo(d.combo, binding.combo));
  return {
    newBindings: [...others(user.newBindings), { ...binding, combo: normalCombo(binding.combo) }],
    unsetBindings: [...user.unsetBindings, ...displaced],
  };
}

/** One binding of a command swapped for another combo (old undefined: a combo added). */
export function rebind(
  defaults: Keybinding[],
  user: UserKeybindings,
  commandId: string,
  old: KeyCombo | undefined,
  combo: KeyCombo,
): UserKeybindings {
  const targetElementId = defaults.find((d) => d.commandId === commandId)?.targetElementId;
  const next: Keybinding = targetElementId ? { commandId, combo, targetElementId } : { commandId, combo };
  if (old && sameCombo(old, combo)) return user;
  const without = old ? unbind(defaults, user, { commandId, combo: old }) : user;
  return bind(defaults, without, next);
}

/** A command's bindings back to its defaults; a user binding of another command on one of them goes. */
export function resetCommand(defaults: Keybinding[], user: UserKeybindings, commandId: string): UserKeybindings {
  const own = defaults.filter((d) => d.commandId === commandId);
  return {
    newBindings: user.newBindings.filter((b) => b.commandId !== commandId && !own.some((d) => sameCombo(d.combo, b.combo))),
    unsetBindings: user.unsetBindings.filter((b) => b.commandId !== commandId),
  };
}

/** Whether a command's keys differ from its defaults. */
export function isModified(defaults: Keybinding[], user: UserKeybindings, commandId: string): boolean {
  const now = effectiveBindings(defaults, user).filter((b) => b.commandId === commandId);
  const own = defaults.filter((d) => d.commandId === commandId);
  return now.length !== own.length || !own.every((d) => now.some((b) => sameBinding(b, d)));
}
