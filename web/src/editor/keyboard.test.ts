import { describe, expect, it } from 'vitest';
import { comboLabel, findShortcut, type KeyPress, SHORTCUTS } from './keyboard';

const press = (key: string, mods: Partial<KeyPress> = {}): KeyPress => ({
  key,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

describe('the shortcut table', () => {
  it('finds every listed combo back as its own shortcut (no combo shadows another)', () => {
    for (const shortcut of SHORTCUTS) {
      for (const c of shortcut.combos) {
        const e = press(c.key, { ctrlKey: Boolean(c.ctrl), shiftKey: Boolean(c.shift), altKey: Boolean(c.alt) });
        expect(findShortcut(e), comboLabel(c)).toBe(shortcut);
      }
    }
  });

  it.each([
    [press('Enter', { ctrlKey: true }), 'Queue the workflow'],
    [press('Enter', { ctrlKey: true, shiftKey: true }), 'Queue at the front'],
    [press('Enter', { ctrlKey: true, altKey: true }), 'Cancel the running prompt'],
    [press('Z', { metaKey: true, shiftKey: true }), 'Redo'],
    [press('z', { ctrlKey: true }), 'Undo'],
    [press('V', { ctrlKey: true, shiftKey: true }), 'Paste keeping input links'],
    [press(',', { ctrlKey: true }), 'Open the settings'],
    [press('n'), 'Show or hide the node library'],
    [press('m'), 'Show or hide the model library'],
    [press('m', { ctrlKey: true }), 'Mute the selected nodes'],
    [press('Backspace'), 'Delete the selected nodes'],
  ])('%o runs "%s"', (e, description) => {
    expect(findShortcut(e)?.description).toBe(description);
  });

  it('ignores keys and modifier sets it does not list', () => {
    expect(findShortcut(press('q'))).toBeUndefined();
    expect(findShortcut(press('n', { altKey: true }))).toBeUndefined();
    expect(findShortcut(press('s', { ctrlKey: true, altKey: true }))).toBeUndefined();
  });

  it('writes combos as people read them', () => {
    expect(comboLabel({ key: 'Enter', ctrl: true, shift: true })).toBe('Ctrl+Shift+Enter');
    expect(comboLabel({ key: 'z', ctrl: true })).toBe('Ctrl+Z');
    expect(comboLabel({ key: '.' })).toBe('.');
  });
});
