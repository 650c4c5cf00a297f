/**
 * Keeps the shown view and the workflow's stored view (`extra.linearMode`) together, per tab:
 * - a workflow put in the stores (a file or template opened, a tab switched to or restored, a
 *   save) shows the view it carries: the app view when it was saved in ComfyUI's app mode;
 * - any other change of the graph that brings back another stored view (undo and redo restore
 *   `extra` as it was) gets the shown view written back, so the next save says what is shown.
 * Loads put the graph in first and the workflow's name right after, in the same task, so the
 * write-back waits for a microtask and is dropped when a workflow arrives meanwhile.
 */
import { graphStore } from '../store/graphStore';
import { workflowStore } from '../store/workflowStore';
import { appViewStore, atWorkflowRoot, recordViewMode } from './appViewStore';
import { savedInAppView } from './linearMode';

let writeBackPending = false;

function storedAgreesWithView(): boolean {
  return savedInAppView(graphStore.get().meta.extra) === appViewStore.get().open;
}

/** Shows the view the open workflow was saved in (on its own level only, not inside a subgraph). */
export function adoptWorkflowView(): void {
  writeBackPending = false;
  if (!atWorkflowRoot()) return;
  const open = savedInAppView(graphStore.get().meta.extra);
  if (open !== appViewStore.get().open) appViewStore.set({ open });
}

graphStore.subscribe(() => {
  if (writeBackPending || !atWorkflowRoot() || storedAgreesWithView()) return;
  writeBackPending = true;
  queueMicrotask(() => {
    if (!writeBackPending) return;
    writeBackPending = false;
    if (atWorkflowRoot()) recordViewMode(appViewStore.get().open, false);
  });
});

workflowStore.subscribe(adoptWorkflowView);
