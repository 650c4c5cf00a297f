import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  bind,
  bindingFor,
  comboLabel,
  comboMatches,
  effectiveBindings,
  findConflict,
  isModified,
  type Keybinding,
  keybindingsFromServer,
  keybindingsToServer,
  NO_USER_KEYBINDINGS,
  parseBindings,
  rebind,
  recordPress,
  resetCommand,
  unbind,
  type UserKeybindings,
} from './keybindings';

const DEFAULTS: Keybinding[] = [
  { commandId: 'Comfy.QueuePrompt', combo: { key: 'Enter', ctrl: true } },
  { commandId: 'Comfy.Redo', combo: { key: 'y', ctrl: true } },
  { commandId: 'Comfy.Redo', combo: { key: 'z', ctrl: true, shift: true } },
  { commandId: 'Comfy.Canvas.FitView', combo: { key: '.' }, targetElementId: 'graph-canvas-container' },
];

const press = (key: string, mods: { ctrl?: boolean; alt?: boolean; shift?: boolean; meta?: boolean } = {}) => ({
  key,
  ctrlKey: Boolean(mods.ctrl),
  metaKey: Boolean(mods.meta),
  altKey: Boolean(mods.alt),
  shiftKey: Boolean(mods.shift),
});

/** "command=combo" for each binding in force, to compare at a glance. */
const summary = (user: UserKeybindings) =>
  effectiveBindings(DEFAULTS, user)
    .map((b) => `${b.commandId}=${b.combo.ctrl ? 'C' : ''}${b.combo.alt ? 'A' : ''}${b.combo.shift ? 'S' : ''}${b.combo.key.toLowerCase()}`)
    .sort();

afterEach(() => vi.restoreAllMocks());

describe('effective bindings', () => {
  it('are the defaults when the user changed nothing', () => {
    expect(effectiveBindings(DEFAULTS, NO_USER_KEYBINDINGS)).toEqual(DEFAULTS);
  });

  it('are defaults + new − unset, a user binding beating a default on its combo', () => {
    const user: UserKeybindings = {
      newBindings: [
        { commandId: 'Comfy.QueuePrompt', combo: { key: 'k', ctrl: true } },
        { commandId: 'Comfy.Interrupt', combo: { key: '.' } },
      ],
      unsetBindings: [{ commandId: 'Comfy.QueuePrompt', combo: { key: 'Enter', ctrl: true, alt: false, shift: false } }],
    };
    expect(summary(user)).toEqual(['Comfy.Interrupt=.', 'Comfy.QueuePrompt=Ck', 'Comfy.Redo=CSz', 'Comfy.Redo=Cy']);
  });
});

describe('changing bindings', () => {
  it('rebinding a default unsets it and adds the new combo, in ComfyUI’s stored shape', () => {
    const user = rebind(DEFAULTS, NO_USER_KEYBINDINGS, 'Comfy.QueuePrompt', { key: 'Enter', ctrl: true }, { key: 'K', ctrl: true });
    expect(keybindingsToServer(user)).toEqual({
      'Comfy.Keybinding.NewBindings': [{ commandId: 'Comfy.QueuePrompt', combo: { key: 'k', ctrl: true, alt: false, shift: false } }],
      'Comfy.Keybinding.UnsetBindings': [{ commandId: 'Comfy.QueuePrompt', combo: { key: 'Enter', ctrl: true, alt: false, shift: false } }],
    });
    expect(isModified(DEFAULTS, user, 'Comfy.QueuePrompt')).toBe(true);
    expect(isModified(DEFAULTS, user, 'Comfy.Redo')).toBe(false);
  });

  it('rebinding back to the default leaves nothing stored', () => {
    let user = rebind(DEFAULTS, NO_USER_KEYBINDINGS, 'Comfy.QueuePrompt', { key: 'Enter', ctrl: true }, { key: 'k', ctrl: true });
    user = rebind(DEFAULTS, user, 'Comfy.QueuePrompt', { key: 'k', ctrl: true }, { key: 'Enter', ctrl: true });
    expect(user).toEqual(NO_USER_KEYBINDINGS);
  });

  it('a taken combo is a conflict; confirming moves it, the other command loses it', () => {
    const effective = effectiveBindings(DEFAULTS, NO_USER_KEYBINDINGS);
    expect(findConflict(effective, 'Comfy.QueuePrompt', { key: 'Y', ctrl: true })?.commandId).toBe('Comfy.Redo');
    expect(findConflict(effective, 'Comfy.Redo', { key: 'y', ctrl: true })).toBeUndefined();
    expect(findConflict(effective, 'Comfy.QueuePrompt', { key: 'y', ctrl: true, alt: true })).toBeUndefined();

    const user = rebind(DEFAULTS, NO_USER_KEYBINDINGS, 'Comfy.QueuePrompt', { key: 'Enter', ctrl: true }, { key: 'y', ctrl: true });
    expect(summary(user)).toEqual(['Comfy.Canvas.FitView=.', 'Comfy.QueuePrompt=Cy', 'Comfy.Redo=CSz']);
    expect(user.unsetBindings.map((b) => b.commandId).sort()).toEqual(['Comfy.QueuePrompt', 'Comfy.Redo']);
  });

  it('a command can be left unbound, and an added combo of its own removed again', () => {
    let user = unbind(DEFAULTS, NO_USER_KEYBINDINGS, DEFAULTS[0]);
    expect(effectiveBindings(DEFAULTS, user).some((b) => b.commandId === 'Comfy.QueuePrompt')).toBe(false);
    const added: Keybinding = { commandId: 'Comfy.QueuePrompt', combo: { key: 'q', alt: true } };
    user = bind(DEFAULTS, user, added);
    user = unbind(DEFAULTS, user, added);
    expect(user.newBindings).toEqual([]);
    expect(user.unsetBindings).toHaveLength(1);
  });

  it('keeps ComfyUI’s canvas target on a rebound canvas command, so ComfyUI matches the unset', () => {
    const user = rebind(DEFAULTS, NO_USER_KEYBINDINGS, 'Comfy.Canvas.FitView', { key: '.' }, { key: 'f' });
    expect(user.newBindings[0].targetElementId).toBe('graph-canvas-container');
    expect(user.unsetBindings[0].targetElementId).toBe('graph-canvas-container');
  });

  it('reset puts one command’s defaults back (taking its combo from whoever had it); reset all is empty', () => {
    let user = rebind(DEFAULTS, NO_USER_KEYBINDINGS, 'Comfy.QueuePrompt', { key: 'Enter', ctrl: true }, { key: 'y', ctrl: true });
    user = rebind(DEFAULTS, user, 'Comfy.Interrupt', undefined, { key: 'Enter', ctrl: true });
    user = resetCommand(DEFAULTS, user, 'Comfy.QueuePrompt');
    expect(summary(user)).toEqual(['Comfy.Canvas.FitView=.', 'Comfy.QueuePrompt=Center', 'Comfy.Redo=CSz']);
    expect(isModified(DEFAULTS, user, 'Comfy.QueuePrompt')).toBe(false);
    user = resetCommand(DEFAULTS, user, 'Comfy.Redo');
    expect(summary(user)).toEqual(summary(NO_USER_KEYBINDINGS));
  });
});

describe('reading stored bindings', () => {
  it('reads ComfyUI’s settings (meta as ctrl, the old canvas id renamed), keeping unknown commands', () => {
    const user = keybindingsFromServer({
      'Comfy.Keybinding.NewBindings': [
        { commandId: 'Comfy.QueuePrompt', combo: { key: 'q', meta: true } },
        { commandId: 'Some.Extension.Command', combo: { key: 'x', alt: true } },
      ],
      'Comfy.Keybinding.UnsetBindings': [
        { commandId: 'Comfy.Canvas.FitView', combo: { key: '.', ctrl: false, alt: false, shift: false }, targetElementId: 'graph-canvas' },
      ],
      'Comfy.LinkRenderMode': 1,
    });
    expect(user.newBindings[0].combo).toEqual({ key: 'q', ctrl: false, alt: false, shift: false, meta: true });
    expect(comboMatches(user.newBindings[0].combo, press('q', { ctrl: true }))).toBe(true);
    expect(user.newBindings[1].commandId).toBe('Some.Extension.Command');
    expect(user.unsetBindings[0].targetElementId).toBe('graph-canvas-container');
    expect(summary(user)).not.toContain('Comfy.Canvas.FitView=.');
  });

  it('ignores values and entries of the wrong shape with a warning, keeping the good ones', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(parseBindings('ctrl+k', 'X')).toEqual([]);
    expect(parseBindings({ commandId: 'a' }, 'X')).toEqual([]);
    const good = { commandId: 'Comfy.Undo', combo: { key: 'u' } };
    const read = parseBindings(
      [
        null,
        7,
        { commandId: 'Comfy.Undo' },
        { commandId: 3, combo: { key: 'u' } },
        { commandId: 'Comfy.Undo', combo: { key: '' } },
        { commandId: 'Comfy.Undo', combo: { key: 'u', ctrl: 'yes' } },
        { commandId: 'Comfy.Undo', combo: { key: 'u' }, targetElementId: 5 },
        good,
      ],
      'X',
    );
    expect(read).toEqual([{ commandId: 'Comfy.Undo', combo: { key: 'u', ctrl: false, alt: false, shift: false } }]);
    expect(warn).toHaveBeenCalledTimes(9);
    expect(keybindingsFromServer(null)).toEqual(NO_USER_KEYBINDINGS);
    expect(keybindingsFromServer({ 'Comfy.Keybinding.NewBindings': null })).toEqual(NO_USER_KEYBINDINGS);
  });
});

describe('recording a combo', () => {
  it('waits past modifiers, cancels on a plain Escape, lowercases letters, counts Cmd as Ctrl', () => {
    expect(recordPress(press('Control', { ctrl: true }))).toBeNull();
    expect(recordPress(press('Shift', { shift: true }))).toBeNull();
    expect(recordPress(press('Escape'))).toBe('cancel');
    expect(recordPress(press('Escape', { shift: true }))).toEqual({ key: 'Escape', ctrl: false, alt: false, shift: true });
    expect(recordPress(press('K', { meta: true, shift: true }))).toEqual({ key: 'k', ctrl: true, alt: false, shift: true });
    expect(recordPress(press('F2'))).toEqual({ key: 'F2', ctrl: false, alt: false, shift: false });
  });
});

describe('a stored meta (Cmd) combo', () => {
  const stored = {
    'Comfy.Keybinding.NewBindings': [
      { commandId: 'Comfy.QueuePrompt', combo: { key: 'q', ctrl: false, alt: false, shift: false, meta: true } },
      { commandId: 'Comfy.Undo', combo: { key: 'u', ctrl: true, alt: false, shift: false, meta: false } },
      { commandId: 'Comfy.Redo', combo: { key: 'r', ctrl: true, alt: false, shift: true } },
    ],
    'Comfy.Keybinding.UnsetBindings': [{ commandId: 'Comfy.QueuePrompt', combo: { key: 'Enter', ctrl: true, alt: false, shift: false } }],
  };

  it('is written back as read when the bindings were not touched', () => {
    expect(keybindingsToServer(keybindingsFromServer(stored))).toEqual(stored);
  });

  it('keeps its meta when another binding changes', () => {
    const user = bind(DEFAULTS, keybindingsFromServer(stored), { commandId: 'Comfy.Canvas.FitView', combo: { key: 'f' } });
    const written = keybindingsToServer(user)['Comfy.Keybinding.NewBindings'];
    expect(written.find((b) => b.commandId === 'Comfy.QueuePrompt')?.combo).toEqual(stored['Comfy.Keybinding.NewBindings'][0].combo);
  });

  it('is pressed with Cmd or Ctrl, shown as Ctrl, and is the same combo as a Ctrl one', () => {
    const user = keybindingsFromServer(stored);
    const combo = user.newBindings[0].combo;
    expect(comboMatches(combo, press('q', { meta: true }))).toBe(true);
    expect(comboMatches(combo, press('q', { ctrl: true }))).toBe(true);
    expect(comboMatches(combo, press('q'))).toBe(false);
    expect(comboLabel(combo)).toBe('Ctrl+Q');
    expect(bindingFor({ key: 'q', ctrl: true }, effectiveBindings(DEFAULTS, user))?.commandId).toBe('Comfy.QueuePrompt');
  });
});
