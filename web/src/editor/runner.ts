/**
 * Queueing the current graph: plan overlay, POST /prompt per batch, control after generate; each
 * queued prompt is recorded with the tab it came from (the app view shows that tab's outputs only).
 */
import { interrupt, planPrompt, PromptRejected, queuePrompt } from '../api/client';
import { graphStore } from '../store/graphStore';
import { runStore } from '../store/runStore';
import { rootGraph } from '../store/subgraphNav';
import { flattenSubgraphs } from '../workflow/subgraphFlatten';
import { previewMethodToSend } from '../settings/settingsSchema';
import { settingsStore } from '../settings/settingsStore';
import { editorToPrompt } from '../workflow/toPrompt';
import { editorToUi } from '../workflow/toUi';
import { tabStore } from './tabs';

/** Builds the API prompt and UI workflow of the graph as it is now. */
function currentPrompt() {
  const graph = rootGraph();
  const defs = graphStore.get().defs;
  return { prompt: editorToPrompt(flattenSubgraphs(graph, defs), defs), workflow: editorToUi(graph, defs) };
}

/** Asks the server which nodes would run and which come from its cache; shows it on the nodes. */
export async function showPlan(): Promise<void> {
  const plan = await planPrompt(currentPrompt().prompt);
  runStore.set({ plan });
}

/** Queues the graph `batchCount` times. Validation errors from the server land on the nodes. */
export async function queueGraph(batchCount = 1, front = false): Promise<boolean> {
  runStore.set({ nodeErrors: {}, executionError: null, message: null });
  const firstTab = tabStore.get().activeId;
  const first = currentPrompt();
  if (Object.keys(first.prompt).length === 0) {
    runStore.notify('Nothing to run: the graph has no executable nodes', 'error');
    return false;
  }
  runStore.set({ plan: await planPrompt(first.prompt) });
  for (let i = 0; i < Math.max(1, batchCount); i++) {
    const tab = i === 0 ? firstTab : tabStore.get().activeId;
    const { prompt, workflow } = i === 0 ? first : currentPrompt();
    try {
      const preview = previewMethodToSend(settingsStore.get().previewMethod) ?? null;
      const result = await queuePrompt(prompt, workflow, runStore.get().clientId, front, preview);
      if (result.prompt_id) runStore.recordQueued(String(result.prompt_id), tab); // the app view shows this tab's runs only
      if (result.node_errors && Object.keys(result.node_errors).length > 0) {
        runStore.set({ nodeErrors: result.node_errors });
        runStore.notify('Queued, but some outputs failed validation and were dropped', 'error');
      } else {
        runStore.notify(`Queued prompt ${result.prompt_id}`);
      }
    } catch (e) {
      if (e instanceof PromptRejected) {
        runStore.set({ nodeErrors: e.nodeErrors, plan: null, message: { text: `Prompt refused: ${e.message}`, kind: 'error' } });
      } else {
        runStore.set({ plan: null });
        runStore.notify((e as Error).message, 'error');
      }
      return false;
    }
    graphStore.applyControls();
  }
  return true;
}

export async function cancelRun(): Promise<void> {
  try {
    await interrupt();
  } catch (e) {
    runStore.notify((e as Error).message, 'error');
  }
}
