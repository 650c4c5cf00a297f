/**
 * The app view: whether it is shown instead of the canvas, and the edits of its field list. The
 * list lives in the workflow (`extra.linearData`, see linearData.ts), so every edit here is one
 * undo step of the graph and is saved, autosaved and parked with its tab like any other edit.
 */
import { graphStore } from '../store/graphStore';
import { Store } from '../store/store';
import { subgraphNav } from '../store/subgraphNav';
import { goUp } from '../editor/subgraphMenu';
import { type AppField, withAppField, withMovedAppField, withoutAppField } from './linearData';

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

/** Shows the app view (of the whole workflow: out of any subgraph first) or the canvas again. */
export function setAppViewOpen(open: boolean): void {
  if (open && !atWorkflowRoot()) goUp(0);
  appViewStore.set({ open });
}
