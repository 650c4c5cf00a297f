/** Global shortcuts (ComfyUI's set): queue, undo/redo, copy/paste, delete, bypass, mute, group, files. */
import { useEffect } from 'react';
import { graphStore } from '../store/graphStore';
import { MODE_BYPASS, MODE_NEVER } from '../workflow/types';
import { refreshDefs } from './defsLoader';
import { saveWorkflow } from './files';
import { pointer } from './pointer';
import { cancelRun, queueGraph } from './runner';
import { viewport } from './viewport';

export interface ShortcutOptions {
  batchCount: () => number;
  openFilePicker: () => void;
}

function typingInField(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable));
}

export function useShortcuts({ batchCount, openFilePicker }: ShortcutOptions): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const ctrl = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (ctrl && e.key === 'Enter') {
        e.preventDefault();
        if (e.altKey) void cancelRun();
        else void queueGraph(batchCount(), e.shiftKey);
        return;
      }
      if (typingInField(e.target)) return;
      const run = (fn: () => unknown) => {
        e.preventDefault();
        fn();
      };
      if (ctrl && key === 'z' && !e.shiftKey) run(() => graphStore.undo());
      else if (ctrl && (key === 'y' || (key === 'z' && e.shiftKey))) run(() => graphStore.redo());
      else if (ctrl && key === 'c') run(() => graphStore.copySelected());
      else if (ctrl && key === 'v') {
        const at = pointer.screen && viewport.api ? viewport.api.toFlow(pointer.screen) : undefined;
        run(() => graphStore.paste(at, e.shiftKey));
      } else if (ctrl && key === 'a') run(() => graphStore.selectAll());
      else if (ctrl && key === 'b') run(() => graphStore.toggleMode(MODE_BYPASS));
      else if (ctrl && key === 'm') run(() => graphStore.toggleMode(MODE_NEVER));
      else if (ctrl && key === 'g') run(() => graphStore.groupSelected());
      else if (ctrl && key === 's') run(() => saveWorkflow());
      else if (ctrl && key === 'o') run(openFilePicker);
      else if (!ctrl && (e.key === 'Delete' || e.key === 'Backspace')) run(() => graphStore.deleteSelected());
      else if (!ctrl && e.key === '.') run(() => viewport.api?.fit());
      else if (!ctrl && key === 'r') run(() => void refreshDefs());
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [batchCount, openFilePicker]);
}
