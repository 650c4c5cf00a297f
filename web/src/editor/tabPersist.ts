/**
 * Open tabs survive a reload (as ComfyUI's Comfy.Workflow.Persist restores open workflows): the
 * tab list, which tab is active, and each tab's workflow (UI JSON with its view) are kept in
 * localStorage, and put back on start before the single autosaved workflow is looked at.
 */
import { flowToGraph, graphToFlow } from '../store/flowModel';
import { type GraphSession, graphStore } from '../store/graphStore';
import { UndoHistory } from '../store/history';
import { workflowStore } from '../store/workflowStore';
import { uiToEditor } from '../workflow/fromUi';
import { editorToUi } from '../workflow/toUi';
import type { UiWorkflow } from '../workflow/types';
import { currentWorkflow, onRestore } from './files';
import { isTabDirty, tabStore, type WorkflowTab } from './tabs';
import { restoreViewport } from './viewport';

export const TABS_KEY = 'latentgraph.tabs';

interface SavedTab {
  name: string;
  file: string | null;
  dirty: boolean;
  workflow: UiWorkflow;
}

interface SavedTabs {
  version: 1;
  active: number;
  tabs: SavedTab[];
}

/** The UI workflow of a parked tab, with its view as `extra.ds`. */
function parkedWorkflow(parked: NonNullable<WorkflowTab['parked']>): UiWorkflow {
  const { session, view } = parked;
  const graph = flowToGraph(session.nodes, session.edges, session.meta);
  if (view) graph.extra = { ...graph.extra, ds: { scale: view.zoom, offset: [view.x / view.zoom, view.y / view.zoom] } };
  return editorToUi(graph, graphStore.get().defs);
}

/** Writes every open tab to localStorage. */
export function persistTabs(): void {
  const { tabs, activeId } = tabStore.get();
  const saved: SavedTabs = {
    version: 1,
    active: Math.max(
      0,
      tabs.findIndex((t) => t.id === activeId),
    ),
    tabs: tabs.map((t) => {
      const workflow = t.id === activeId || !t.parked ? currentWorkflow() : parkedWorkflow(t.parked);
      const open = t.id === activeId || !t.parked ? workflowStore.get() : t.parked.workflow;
      return { name: t.name, file: open.file, dirty: isTabDirty(t.id), workflow };
    }),
  };
  try {
    localStorage.setItem(TABS_KEY, JSON.stringify(saved));
  } catch {
    /* storage full or unavailable: the single autosave still works */
  }
}

/** Puts the saved tabs back; false when there are none (or they cannot be read). */
export function restoreTabs(): boolean {
  let saved: SavedTabs | null = null;
  try {
    saved = JSON.parse(localStorage.getItem(TABS_KEY) ?? 'null');
  } catch {
    saved = null;
  }
  if (!saved || saved.version !== 1 || !Array.isArray(saved.tabs) || saved.tabs.length === 0) return false;
  const defs = graphStore.get().defs;
  const read = saved.tabs.flatMap((t) => {
    try {
      return [{ saved: t, graph: uiToEditor(t.workflow, defs).graph }];
    } catch {
      return [];
    }
  });
  if (read.length === 0) return false;
  const active = Math.min(Math.max(0, Number(saved.active) || 0), read.length - 1);
  const emptyRun = { outputs: {}, nodeErrors: {}, executionError: null, plan: null, nodeStates: {} };
  const tabs: WorkflowTab[] = read.map(({ saved: t, graph }, i) => {
    if (i === active) return { id: i + 1, name: t.name, parked: null };
    const ds = graph.extra.ds as { scale?: number; offset?: [number, number] } | undefined;
    const view = ds?.scale && ds.offset ? { x: ds.offset[0] * ds.scale, y: ds.offset[1] * ds.scale, zoom: ds.scale } : null;
    const session = { ...graphToFlow(graph), history: new UndoHistory() as GraphSession['history'], revision: 0 };
    return {
      id: i + 1,
      name: t.name,
      parked: { workflow: { name: t.name, file: t.file ?? null, savedRevision: t.dirty ? -1 : 0 }, session, view, run: emptyRun },
    };
  });
  const current = read[active];
  graphStore.load(current.graph);
  restoreViewport(current.graph.extra);
  const revision = graphStore.get().revision;
  workflowStore.set({ name: current.saved.name, file: current.saved.file ?? null, savedRevision: current.saved.dirty ? -1 : revision });
  tabStore.set({ tabs, activeId: active + 1 });
  return true;
}

onRestore(restoreTabs);

// Persist after changes settle: graph edits, tab changes, saves and renames.
let timer: ReturnType<typeof setTimeout> | undefined;
let lastRevision = graphStore.get().revision;
const schedule = () => {
  clearTimeout(timer);
  timer = setTimeout(persistTabs, 400);
};
graphStore.subscribe(() => {
  const { revision } = graphStore.get();
  if (revision === lastRevision) return; // selection and other view-only changes
  lastRevision = revision;
  schedule();
});
tabStore.subscribe(schedule);
workflowStore.subscribe(schedule);
