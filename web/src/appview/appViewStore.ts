/**
 * The app view: whether it is shown instead of the canvas, and the edits of its fields and
 * outputs. Both lists live in the workflow (`extra.linearData`, see linearData.ts), so every edit
 * here is one undo step of the graph and is saved, autosaved and parked with its tab like any
 * other edit. Switching views records the view in the workflow too (`extra.linearMode`, see
 * linearMode.ts; not an undo step), which is how each tab and each saved file keeps its view.
 */
import { graphStore } from '../store/graphStore';
import { Store } from '../store/store';
import { subgraphNav } from '../store/subgraphNav';
import { goUp } from '../editor/subgraphMenu';
import {
  type AppField,
  withAppField,
  withAppOutput,
  withMovedAppField,
  withMovedAppOutput,
  withoutAppField,
  withoutAppOutput,
} from './linearData';
import { withViewMode } from './linearMode';

export const appViewStore = new Store<{ open: boolean }>({ open: false });

/** Commits `update` of the root workflow's `extra` as one undo step (a no-op when nothing changed). */
function editExtra(update: (extra: Record<string, unknown>) => Record<string, unknown>): void {
  const meta = graphStore.get().meta;
  const extra = update(meta.extra);
  if (extra !== meta.extra) graphStore.commit({ meta: { ...meta, extra } });
}

/** True when the canvas shows the workflow itself (the app view's fields are nodes of that level). */
export function atWorkflowRoot(): boolean {
  return subgraphNav.get().frames.length === 0;
}

export function addToAppView(field: AppField): void {
  if (atWorkflowRoot()) editExtra((extra) => withAppField(extra, field));
}

export function removeFromAppView(index: number): void {
  editExtra((extra) => withoutAppField(extra, index));
}

export function moveInAppView(index: number, delta: number): void {
  editExtra((extra) => withMovedAppField(extra, index, delta));
}

/** Shows output node `nodeId`'s images in the app view, or takes it out when it is there. */
export function toggleAppOutput(nodeId: string, shown: boolean): void {
  if (atWorkflowRoot()) editExtra((extra) => (shown ? withoutAppOutput(extra, nodeId) : withAppOutput(extra, nodeId)));
}

/** Moves chosen output `nodeId` up (-1) or down (+1) in the app view's outputs, one undo step. */
export function moveAppOutput(nodeId: string, delta: number): void {
  editExtra((extra) => withMovedAppOutput(extra, nodeId, delta));
}

export function removeAppOutput(nodeId: string): void {
  editExtra((extra) => withoutAppOutput(extra, nodeId));
}

/**
 * Writes the shown view into the root workflow's `extra.linearMode` without an undo step; with
 * `asEdit` the workflow counts as changed (it is autosaved), else the write only keeps the stored
 * mode in step with the view after an undo put an older one back.
 */
export function recordViewMode(open: boolean, asEdit: boolean): void {
  const meta = graphStore.get().meta;
  const extra = withViewMode(meta.extra, open);
  if (extra === meta.extra) return;
  graphStore.set((s) => ({ meta: { ...s.meta, extra }, revision: asEdit ? s.revision + 1 : s.revision }));
}

/** Shows the app view (of the whole workflow: out of any subgraph first) or the canvas again. */
export function setAppViewOpen(open: boolean): void {
  if (open && !atWorkflowRoot()) goUp(0);
  appViewStore.set({ open });
  if (atWorkflowRoot()) recordViewMode(open, true);
}
