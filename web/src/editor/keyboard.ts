/**
 * Global shortcuts (ComfyUI's set): queue, undo/redo, copy/paste, delete, bypass, mute, group,
 * files, sidebars, settings. One table, SHORTCUTS, holds the commands (ComfyUI's ids) and their
 * default combos; the key handler runs what the bindings in force say (defaults with the user's
 * rebindings, settings/keybindings.ts), read at each key press, and the settings dialog lists
 * and edits the same, so the help cannot drift from the behaviour. Ctrl+V itself lets the browser's
 * `paste` event through, which imagePasteActions.ts handles (images, workflow text, copied nodes).
 */
import { useEffect } from 'react';
import {
  bindingFor,
  comboFromPress,
  comboLabel,
  effectiveBindings,
  type KeyCombo,
  type Keybinding,
  type KeyPress,
  type UserKeybindings,
} from '../settings/keybindings';
import { appViewStore } from '../appview/appViewStore';
import { keybindingStore } from '../settings/keybindingStore';
import { graphStore } from '../store/graphStore';
import { nodeEdits } from '../store/nodeEdits';
import { MODE_BYPASS, MODE_NEVER } from '../workflow/types';
import { refreshDefs } from './defsLoader';
import { saveWorkflow } from './files';
import { expectCopyEvent, expectPasteEvent, onCopy, onPaste } from './imagePasteActions';
import { typingInField } from './textFields';
import { pointer } from './pointer';
import { cancelRun, queueGraph } from './runner';
import { viewport } from './viewport';

export interface ShortcutOptions {
  batchCount: () => number;
  openFilePicker: () => void;
  toggleSidebar: (tab: 'nodes' | 'models') => void;
  openSettings: () => void;
}

export { comboLabel, comboMatches, type KeyCombo, type KeyPress } from '../settings/keybindings';

export interface Shortcut {
  /** ComfyUI's command id where ComfyUI has the command. */
  id: string;
  /** The default combos. */
  combos: KeyCombo[];
  /** ComfyUI's targetElementId for this command's bindings (stored, not used here). */
  target?: string;
  description: string;
  /** Also fires while typing in a text field (the queue shortcuts, as in ComfyUI), for a combo with Ctrl or Alt. */
  inFields?: boolean;
  run: (options: ShortcutOptions) => void;
}

const pasteAt = (withLinks: boolean) => {
  const at = pointer.screen && viewport.api ? viewport.api.toFlow(pointer.screen) : undefined;
  graphStore.paste(at, withLinks);
};

/** ComfyUI scopes its canvas commands to this element; kept on our bindings so a stored unset matches ComfyUI's. */
const CANVAS = 'graph-canvas-container';

/** The ids are ComfyUI's command ids (ComfyUI_frontend defaults.ts), so stored rebindings carry over. */
export const SHORTCUTS: Shortcut[] = [
  {
    id: 'Comfy.QueuePrompt',
    combos: [{ key: 'Enter', ctrl: true }],
    description: 'Queue the workflow',
    inFields: true,
    run: (o) => void queueGraph(o.batchCount()),
  },
  {
    id: 'Comfy.QueuePromptFront',
    combos: [{ key: 'Enter', ctrl: true, shift: true }],
    description: 'Queue at the front',
    inFields: true,
    run: (o) => void queueGraph(o.batchCount(), true),
  },
  {
    id: 'Comfy.Interrupt',
    combos: [{ key: 'Enter', ctrl: true, alt: true }],
    description: 'Cancel the running prompt',
    inFields: true,
    run: () => void cancelRun(),
  },
  { id: 'Comfy.Undo', combos: [{ key: 'z', ctrl: true }], description: 'Undo', run: () => graphStore.undo() },
  {
    id: 'Comfy.Redo',
    combos: [
      { key: 'y', ctrl: true },
      { key: 'z', ctrl: true, shift: true },
    ],
    description: 'Redo',
    run: () => graphStore.redo(),
  },
  {
    id: 'Comfy.Canvas.CopySelected',
    target: CANVAS,
    combos: [{ key: 'c', ctrl: true }],
    description: 'Copy the selected nodes',
    run: () => graphStore.copySelected(),
  },
  {
    id: 'Comfy.Canvas.PasteFromClipboard',
    target: CANVAS,
    combos: [{ key: 'v', ctrl: true }],
    description: 'Paste at the pointer',
    run: () => pasteAt(false),
  },
  {
    id: 'Comfy.Canvas.PasteFromClipboardWithConnect',
    target: CANVAS,
    combos: [{ key: 'v', ctrl: true, shift: true }],
    description: 'Paste keeping input links',
    run: () => pasteAt(true),
  },
  {
    id: 'Comfy.Canvas.SelectAll',
    target: CANVAS,
    combos: [{ key: 'a', ctrl: true }],
    description: 'Select all nodes',
    run: () => graphStore.selectAll(),
  },
  {
    id: 'Comfy.Canvas.ToggleSelectedNodes.Bypass',
    target: CANVAS,
    combos: [{ key: 'b', ctrl: true }],
    description: 'Bypass the selected nodes',
    run: () => graphStore.toggleMode(MODE_BYPASS),
  },
  {
    id: 'Comfy.Canvas.ToggleSelectedNodes.Mute',
    target: CANVAS,
    combos: [{ key: 'm', ctrl: true }],
    description: 'Mute the selected nodes',
    run: () => graphStore.toggleMode(MODE_NEVER),
  },
  {
    id: 'Comfy.Graph.GroupSelectedNodes',
    combos: [{ key: 'g', ctrl: true }],
    description: 'Group the selected nodes',
    run: () => graphStore.groupSelected(),
  },
  { id: 'Comfy.SaveWorkflow', combos: [{ key: 's', ctrl: true }], description: 'Save the workflow', run: () => saveWorkflow() },
  { id: 'Comfy.OpenWorkflow', combos: [{ key: 'o', ctrl: true }], description: 'Open a workflow file', run: (o) => o.openFilePicker() },
  { id: 'Comfy.ShowSettingsDialog', combos: [{ key: ',', ctrl: true }], description: 'Open the settings', run: (o) => o.openSettings() },
  {
    id: 'Comfy.Canvas.ToggleSelectedNodes.Collapse',
    target: CANVAS,
    combos: [{ key: 'c', alt: true }],
    description: 'Collapse or expand the selected nodes',
    run: () => nodeEdits.toggleCollapsed(),
  },
  {
    id: 'Comfy.Canvas.DeleteSelectedItems',
    target: CANVAS,
    combos: [{ key: 'Delete' }, { key: 'Backspace' }],
    description: 'Delete the selected nodes',
    run: () => graphStore.deleteSelected(),
  },
  {
    id: 'Comfy.Canvas.FitView',
    target: CANVAS,
    combos: [{ key: '.' }],
    description: 'Fit the view to the nodes',
    run: () => viewport.api?.fit(),
  },
  {
    id: 'Comfy.RefreshNodeDefinitions',
    combos: [{ key: 'r' }],
    description: 'Refresh node types and model lists',
    run: () => void refreshDefs(),
  },
  {
    id: 'Workspace.ToggleSidebarTab.node-library',
    combos: [{ key: 'n' }],
    description: 'Show or hide the node library',
    run: (o) => o.toggleSidebar('nodes'),
  },
  {
    id: 'Workspace.ToggleSidebarTab.model-library',
    combos: [{ key: 'm' }],
    description: 'Show or hide the model library',
    run: (o) => o.toggleSidebar('models'),
  },
];

/** Every default combo as a ComfyUI binding: what "reset" goes back to. */
export const DEFAULT_KEYBINDINGS: Keybinding[] = SHORTCUTS.flatMap((s) =>
  s.combos.map((combo) => (s.target ? { commandId: s.id, combo, targetElementId: s.target } : { commandId: s.id, combo })),
);

const BY_ID = new Map(SHORTCUTS.map((s) => [s.id, s]));

/** The bindings in force now: the defaults with the user's changes (keybindingStore). */
export function currentBindings(user: UserKeybindings = keybindingStore.get()): Keybinding[] {
  // A stored binding for a command this editor lacks (a ComfyUI pack's) is kept in the settings for ComfyUI
  // but takes no combo away here: the key would do nothing and the browser's own action (Ctrl+S: save the
  // page) would run instead.
  const known = user.newBindings.filter((b) => BY_ID.has(b.commandId));
  return effectiveBindings(DEFAULT_KEYBINDINGS, { ...user, newBindings: known });
}

/** How the first combo bound to `commandId` reads now ("Ctrl+B"), or null when the command has none (menus
 * show the user's bindings, not the defaults). */
export function shortcutLabel(commandId: string, bindings: Keybinding[] = currentBindings()): string | null {
  const binding = bindings.find((b) => b.commandId === commandId);
  return binding ? comboLabel(binding.combo) : null;
}

/** The shortcut a key press runs with these bindings, if any (a binding of an unknown command runs nothing). */
export function findShortcut(e: KeyPress, bindings: Keybinding[] = currentBindings()): Shortcut | undefined {
  const binding = bindingFor(comboFromPress(e), bindings);
  return binding && BY_ID.get(binding.commandId);
}

/** Ctrl+V / Cmd+V: the key press after which the browser sends a `paste` event (with the system clipboard). */
const isBrowserPaste = (e: KeyPress) => e.key.toLowerCase() === 'v' && (e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey;
/** Ctrl+C / Cmd+C: the key press after which the browser sends a `copy` event. */
const isBrowserCopy = (e: KeyPress) => e.key.toLowerCase() === 'c' && (e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey;

/** Whether the browser's own paste key (Ctrl+V) pastes on the canvas: not once the user unbound it or
 * gave it to another command (its `paste` events are then left alone). */
export function browserPasteIsBound(bindings: Keybinding[] = currentBindings()): boolean {
  return (
    findShortcut({ key: 'v', ctrlKey: true, metaKey: false, shiftKey: false, altKey: false }, bindings)?.id ===
    'Comfy.Canvas.PasteFromClipboard'
  );
}

/** Whether a command acts on the canvas's selection or view: not while the app view covers the canvas
 * (Delete, Ctrl+A, Ctrl+C/V, bypass… would change nodes the user cannot see; keys then do what the
 * focused form field does). */
export function canvasOnly(id: string): boolean {
  return id.startsWith('Comfy.Canvas.') || id === 'Comfy.Graph.GroupSelectedNodes';
}

export function useShortcuts({ batchCount, openFilePicker, toggleSidebar, openSettings }: ShortcutOptions): void {
  useEffect(() => {
    const options = { batchCount, openFilePicker, toggleSidebar, openSettings };
    const onKey = (e: KeyboardEvent) => {
      const shortcut = findShortcut(e);
      if (!shortcut) return;
      if (appViewStore.get().open && canvasOnly(shortcut.id)) return;
      // In a text field a plain or Shift-only key is typing, whatever it is bound to.
      if (typingInField(e.target) && !(shortcut.inFields && (e.ctrlKey || e.metaKey || e.altKey))) return;
      // Ctrl+V is left to the browser: its paste event brings the clipboard (images, workflow text).
      if (shortcut.id === 'Comfy.Canvas.PasteFromClipboard' && isBrowserPaste(e)) return expectPasteEvent(() => pasteAt(false));
      // Ctrl+C too: its `copy` event copies the nodes and puts a blank into the system clipboard, so an image
      // or workflow text copied earlier elsewhere does not win over these nodes at the next Ctrl+V.
      if (shortcut.id === 'Comfy.Canvas.CopySelected' && isBrowserCopy(e)) return expectCopyEvent(() => graphStore.copySelected());
      e.preventDefault();
      shortcut.run(options);
    };
    const onPasteEvent = (e: ClipboardEvent) => {
      // the app view: pasting is the field's; Ctrl+V unbound or rebound: the browser's paste is not ours
      if (!appViewStore.get().open && browserPasteIsBound()) onPaste(e, () => pasteAt(false));
    };
    const onCopyEvent = (e: ClipboardEvent) => {
      if (!appViewStore.get().open) onCopy(e, () => graphStore.copySelected());
    };
    window.addEventListener('keydown', onKey);
    document.addEventListener('paste', onPasteEvent);
    document.addEventListener('copy', onCopyEvent);
    return () => {
      window.removeEventListener('keydown', onKey);
      document.removeEventListener('paste', onPasteEvent);
      document.removeEventListener('copy', onCopyEvent);
    };
  }, [batchCount, openFilePicker, toggleSidebar, openSettings]);
}
