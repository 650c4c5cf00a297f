import { afterEach, describe, expect, it } from 'vitest';
import { NO_USER_KEYBINDINGS } from '../settings/keybindings';
import { keybindingStore } from '../settings/keybindingStore';
import {
  browserPasteIsBound,
  canvasOnly,
  comboLabel,
  shortcutLabel,
  currentBindings,
  findShortcut,
  type KeyPress,
  SHORTCUTS,
} from './keyboard';

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

  it('uses ComfyUI command ids, one per command', () => {
    const ids = SHORTCUTS.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('Comfy.QueuePrompt');
    expect(ids).toContain('Workspace.ToggleSidebarTab.node-library');
  });
});

describe('commands while the app view covers the canvas', () => {
  it('leave out those acting on the hidden selection, keep the global ones', () => {
    const hidden = SHORTCUTS.filter((s) => canvasOnly(s.id)).map((s) => s.id);
    expect(hidden).toContain('Comfy.Canvas.DeleteSelectedItems');
    expect(hidden).toContain('Comfy.Canvas.SelectAll');
    expect(hidden).toContain('Comfy.Graph.GroupSelectedNodes');
    for (const global of ['Comfy.QueuePrompt', 'Comfy.Undo', 'Comfy.SaveWorkflow', 'Comfy.ShowSettingsDialog']) {
      expect(canvasOnly(global)).toBe(false);
    }
  });
});

describe('menu labels', () => {
  afterEach(() => keybindingStore.set(NO_USER_KEYBINDINGS));
  it('show the key a command has now, and none once it is unbound', () => {
    expect(shortcutLabel('Comfy.Canvas.ToggleSelectedNodes.Bypass')).toBe('Ctrl+B');
    keybindingStore.set({
      newBindings: [{ commandId: 'Comfy.Canvas.ToggleSelectedNodes.Bypass', combo: { key: 'k', alt: true } }],
      unsetBindings: [
        {
          commandId: 'Comfy.Canvas.ToggleSelectedNodes.Bypass',
          combo: { key: 'b', ctrl: true },
          targetElementId: 'graph-canvas-container',
        },
      ],
    });
    expect(shortcutLabel('Comfy.Canvas.ToggleSelectedNodes.Bypass')).toBe('Alt+K');
    expect(shortcutLabel('Comfy.NoSuchCommand')).toBeNull();
  });
});

describe("the browser's paste key", () => {
  afterEach(() => keybindingStore.set(NO_USER_KEYBINDINGS));
  it('pastes on the canvas only while Ctrl+V is bound to paste', () => {
    expect(browserPasteIsBound()).toBe(true);
    keybindingStore.set({
      newBindings: [],
      unsetBindings: [
        { commandId: 'Comfy.Canvas.PasteFromClipboard', combo: { key: 'v', ctrl: true }, targetElementId: 'graph-canvas-container' },
      ],
    });
    expect(browserPasteIsBound()).toBe(false);
    keybindingStore.set({ newBindings: [{ commandId: 'Comfy.Undo', combo: { key: 'v', ctrl: true } }], unsetBindings: [] });
    expect(browserPasteIsBound()).toBe(false);
  });
});

describe('rebound shortcuts', () => {
  afterEach(() => keybindingStore.set({ ...NO_USER_KEYBINDINGS }));

  it('run from the new combo at once and no longer from the old one', () => {
    keybindingStore.set({
      newBindings: [{ commandId: 'Comfy.QueuePrompt', combo: { key: 'q', alt: true } }],
      unsetBindings: [{ commandId: 'Comfy.QueuePrompt', combo: { key: 'Enter', ctrl: true } }],
    });
    expect(findShortcut(press('q', { altKey: true }))?.id).toBe('Comfy.QueuePrompt');
    expect(findShortcut(press('Enter', { ctrlKey: true }))).toBeUndefined();
    expect(findShortcut(press('Enter', { ctrlKey: true, shiftKey: true }))?.id).toBe('Comfy.QueuePromptFront');
  });

  it('a user binding takes its combo from a default; one for a command this editor lacks leaves the default', () => {
    keybindingStore.set({
      newBindings: [
        { commandId: 'Comfy.Undo', combo: { key: 'n' } },
        { commandId: 'Workspace.ToggleSidebarTab.queue', combo: { key: 'r' } },
      ],
      unsetBindings: [],
    });
    expect(findShortcut(press('n'))?.id).toBe('Comfy.Undo');
    // kept in the settings (ComfyUI runs it), but here R still refreshes the node definitions
    expect(findShortcut(press('r'))?.id).toBe('Comfy.RefreshNodeDefinitions');
    expect(currentBindings().filter((b) => b.commandId === 'Comfy.Undo')).toHaveLength(2);
  });
});
