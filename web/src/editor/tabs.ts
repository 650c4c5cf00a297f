/**
 * Several workflows open at once, one tab each. The active tab lives in the stores (graph,
 * workflow name, run outputs) and on the canvas; the others are parked here with their graph,
 * undo history, viewport and outputs, and put back when their tab is chosen.
 */
import { type GraphSession, graphStore } from '../store/graphStore';
import { type RunState, runStore } from '../store/runStore';
import { Store } from '../store/store';
import { closeTabIn, nextTabId, tabDirty, untitledName } from '../store/tabList';
import { markSaved, type OpenWorkflow, workflowStore } from '../store/workflowStore';
import { loadDefault } from './files';
import { resetSubgraphNav } from '../store/subgraphNav';
import { goUp } from './subgraphMenu';
import { viewport } from './viewport';

type RunPart = Pick<RunState, 'outputs' | 'nodeErrors' | 'executionError' | 'plan' | 'nodeStates'>;

export interface WorkflowTab {
  id: number;
  name: string;
  /** Only for parked tabs: what the stores held when the tab was left. */
  parked: { workflow: OpenWorkflow; session: GraphSession; view: { x: number; y: number; zoom: number } | null; run: RunPart } | null;
}

export const tabStore = new Store<{ tabs: WorkflowTab[]; activeId: number }>({
  tabs: [{ id: 1, name: 'Unsaved workflow', parked: null }],
  activeId: 1,
});

// The active tab's name follows the open workflow's (opened, saved as, ...).
workflowStore.subscribe(() => {
  const { tabs, activeId } = tabStore.get();
  const name = workflowStore.get().name;
  if (tabs.find((t) => t.id === activeId)?.name !== name) {
    tabStore.set({ tabs: tabs.map((t) => (t.id === activeId ? { ...t, name } : t)) });
  }
});

/** Whether tab `id` has changes not saved since it was opened. */
export function isTabDirty(id: number): boolean {
  const { tabs, activeId } = tabStore.get();
  if (id === activeId) return tabDirty(graphStore.get().revision, workflowStore.get().savedRevision);
  const parked = tabs.find((t) => t.id === id)?.parked;
  return parked ? tabDirty(parked.session.revision, parked.workflow.savedRevision) : false;
}

function park(): WorkflowTab[] {
  goUp(0); // a tab is parked with its whole workflow, not the inside of a subgraph
  const { tabs, activeId } = tabStore.get();
  const { outputs, nodeErrors, executionError, plan, nodeStates } = runStore.get();
  const parked = {
    workflow: workflowStore.get(),
    session: graphStore.saveSession(),
    view: viewport.api?.get() ?? null,
    run: { outputs, nodeErrors, executionError, plan, nodeStates },
  };
  return tabs.map((t) => (t.id === activeId ? { ...t, parked } : t));
}

function unpark(tab: WorkflowTab, tabs: WorkflowTab[]): void {
  resetSubgraphNav();
  const p = tab.parked;
  tabStore.set({ tabs: tabs.map((t) => (t.id === tab.id ? { ...t, parked: null } : t)), activeId: tab.id });
  if (!p) return;
  graphStore.restoreSession(p.session);
  workflowStore.set(p.workflow);
  runStore.set(p.run);
  const view = p.view;
  if (view) setTimeout(() => viewport.api?.set(view), 0);
}

/** Makes tab `id` the active one; the one left keeps its graph, history and view. */
export function switchTab(id: number): void {
  const { tabs, activeId } = tabStore.get();
  const target = tabs.find((t) => t.id === id);
  if (!target || id === activeId) return;
  const parkedTabs = park();
  unpark(
    parkedTabs.find((t) => t.id === id)!,
    parkedTabs,
  );
}

function openFresh(tabs: WorkflowTab[], load: (name: string) => void = (name) => (loadDefault(), markSaved(name, null))): void {
  const id = nextTabId(tabs);
  const name = untitledName(tabs.map((t) => t.name));
  tabStore.set({ tabs: [...tabs, { id, name, parked: null }], activeId: id });
  graphStore.restoreSession(null);
  runStore.set({ outputs: {}, nodeErrors: {}, executionError: null, plan: null, nodeStates: {} });
  load(name);
}

/** Opens a new tab and lets `load` fill it (e.g. with a saved workflow); the current tab is parked. */
export function openInNewTab(load: () => void): void {
  openFresh(park(), load);
}

/** Opens a new tab with the default workflow. */
export function newTab(): void {
  openFresh(park());
}

/** Closes tab `id`, asking first when it has unsaved changes. False when the user kept it. */
export function closeTab(id: number, confirm: (text: string) => boolean = (t) => window.confirm(t)): boolean {
  const { tabs, activeId } = tabStore.get();
  const tab = tabs.find((t) => t.id === id);
  if (!tab) return false;
  if (isTabDirty(id) && !confirm(`"${tab.name}" has unsaved changes. Close it anyway?`)) return false;
  const next = closeTabIn(tabs, activeId, id);
  if (next.activeId === null) openFresh([]);
  else if (id === activeId)
    unpark(
      next.tabs.find((t) => t.id === next.activeId)!,
      next.tabs,
    );
  else tabStore.set({ tabs: next.tabs });
  return true;
}
