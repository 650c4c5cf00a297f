/**
 * Global shortcuts (ComfyUI's set): queue, undo/redo, copy/paste, delete, bypass, mute, group,
 * files, sidebars, settings. One table, SHORTCUTS, is both what the key handler runs and what
 * the settings dialog lists, so the help cannot drift from the behaviour.
 */
import { useEffect } from 'react';
import { graphStore } from '../store/graphStore';
import { nodeEdits } from '../store/nodeEdits';
import { MODE_BYPASS, MODE_NEVER } from '../workflow/types';
import { refreshDefs } from './defsLoader';
import { saveWorkflow } from './files';
import { pointer } from './pointer';
import { cancelRun, queueGraph } from './runner';
import { viewport } from './viewport';

export interface ShortcutOptions {
  batchCount: () => number;
  openFilePicker: () => void;
  toggleSidebar: (tab: 'nodes' | 'models') => void;
  openSettings: () => void;
}

/** A key with its modifiers; a modifier left out must not be held. Ctrl also means Cmd. */
export interface KeyCombo {
  key: string;
  ctrl?: boolean;
  shift?: boolean;
  alt?: boolean;
}

export interface Shortcut {
  combos: KeyCombo[];
  description: string;
  /** Also fires while typing in a text field (the queue shortcuts, as in ComfyUI). */
  inFields?: boolean;
  run: (options: ShortcutOptions) => void;
}

const pasteAt = (withLinks: boolean) => {
  const at = pointer.screen && viewport.api ? viewport.api.toFlow(pointer.screen) : undefined;
  graphStore.paste(at, withLinks);
};

export const SHORTCUTS: Shortcut[] = [
  {
    combos: [{ key: 'Enter', ctrl: true }],
    description: 'Queue the workflow',
    inFields: true,
    run: (o) => void queueGraph(o.batchCount()),
  },
  {
    combos: [{ key: 'Enter', ctrl: true, shift: true }],
    description: 'Queue at the front',
    inFields: true,
    run: (o) => void queueGraph(o.batchCount(), true),
  },
  {
    combos: [{ key: 'Enter', ctrl: true, alt: true }],
    description: 'Cancel the running prompt',
    inFields: true,
    run: () => void cancelRun(),
  },
  { combos: [{ key: 'z', ctrl: true }], description: 'Undo', run: () => graphStore.undo() },
  {
    combos: [
      { key: 'y', ctrl: true },
      { key: 'z', ctrl: true, shift: true },
    ],
    description: 'Redo',
    run: () => graphStore.redo(),
  },
  { combos: [{ key: 'c', ctrl: true }], description: 'Copy the selected nodes', run: () => graphStore.copySelected() },
  { combos: [{ key: 'v', ctrl: true }], description: 'Paste at the pointer', run: () => pasteAt(false) },
  { combos: [{ key: 'v', ctrl: true, shift: true }], description: 'Paste keeping input links', run: () => pasteAt(true) },
  { combos: [{ key: 'a', ctrl: true }], description: 'Select all nodes', run: () => graphStore.selectAll() },
  { combos: [{ key: 'b', ctrl: true }], description: 'Bypass the selected nodes', run: () => graphStore.toggleMode(MODE_BYPASS) },
  { combos: [{ key: 'm', ctrl: true }], description: 'Mute the selected nodes', run: () => graphStore.toggleMode(MODE_NEVER) },
  { combos: [{ key: 'g', ctrl: true }], description: 'Group the selected nodes', run: () => graphStore.groupSelected() },
  { combos: [{ key: 's', ctrl: true }], description: 'Save the workflow', run: () => saveWorkflow() },
  { combos: [{ key: 'o', ctrl: true }], description: 'Open a workflow file', run: (o) => o.openFilePicker() },
  { combos: [{ key: ',', ctrl: true }], description: 'Open the settings', run: (o) => o.openSettings() },
  { combos: [{ key: 'c', alt: true }], description: 'Collapse or expand the selected nodes', run: () => nodeEdits.toggleCollapsed() },
  { combos: [{ key: 'Delete' }, { key: 'Backspace' }], description: 'Delete the selected nodes', run: () => graphStore.deleteSelected() },
  { combos: [{ key: '.' }], description: 'Fit the view to the nodes', run: () => viewport.api?.fit() },
  { combos: [{ key: 'r' }], description: 'Refresh node types and model lists', run: () => void refreshDefs() },
  { combos: [{ key: 'n' }], description: 'Show or hide the node library', run: (o) => o.toggleSidebar('nodes') },
  { combos: [{ key: 'm' }], description: 'Show or hide the model library', run: (o) => o.toggleSidebar('models') },
];

/** The part of a keyboard event a combo is matched against. */
export type KeyPress = Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>;

export function comboMatches(combo: KeyCombo, e: KeyPress): boolean {
  return (
    e.key.toLowerCase() === combo.key.toLowerCase() &&
    (e.ctrlKey || e.metaKey) === Boolean(combo.ctrl) &&
    e.shiftKey === Boolean(combo.shift) &&
    e.altKey === Boolean(combo.alt)
  );
}

/** The shortcut a key press stands for, if any. */
export function findShortcut(e: KeyPress, shortcuts: Shortcut[] = SHORTCUTS): Shortcut | undefined {
  return shortcuts.find((s) => s.combos.some((c) => comboMatches(c, e)));
}

/** "Ctrl+Shift+Enter", as the help list shows a combo. */
export function comboLabel(combo: KeyCombo): string {
  const key = combo.key.length === 1 ? combo.key.toUpperCase() : combo.key;
  return [combo.ctrl && 'Ctrl', combo.alt && 'Alt', combo.shift && 'Shift', key].filter(Boolean).join('+');
}

function typingInField(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable));
}

export function useShortcuts({ batchCount, openFilePicker, toggleSidebar, openSettings }: ShortcutOptions): void {
  useEffect(() => {
    const options = { batchCount, openFilePicker, toggleSidebar, openSettings };
    const onKey = (e: KeyboardEvent) => {
      const shortcut = findShortcut(e);
      if (!shortcut || (!shortcut.inFields && typingInField(e.target))) return;
      e.preventDefault();
      shortcut.run(options);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [batchCount, openFilePicker, toggleSidebar, openSettings]);
}
