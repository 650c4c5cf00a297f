/**
 * Workflow files: open (UI JSON, API JSON, a PNG/JPEG/WebP with an embedded workflow, API prompt or A1111
 * parameters; img2img parameters upload the image itself as LoadImage's input), save in UI format,
 * export in API format, autosave to localStorage, the default graph on first start.
 */
import { graphStore } from '../store/graphStore';
import { runStore } from '../store/runStore';
import { resetSubgraphNav, rootGraph } from '../store/subgraphNav';
import { markSaved } from '../store/workflowStore';
import { parseA1111Parameters } from '../workflow/a1111';
import { a1111Mode, a1111ToPrompt } from '../workflow/a1111Graph';
import { apiToEditor } from '../workflow/fromApi';
import { defaultCheckpoint, defaultWorkflow } from '../workflow/defaultGraph';
import { uiToEditor } from '../workflow/fromUi';
import { documentFromImage, imageFormat } from '../workflow/imageDocument';
import { PngError } from '../workflow/png';
import { flattenForChecks, flattenSubgraphs } from '../workflow/subgraphFlatten';
import { editorToPrompt } from '../workflow/toPrompt';
import { editorToUi } from '../workflow/toUi';
import { findMissing } from '../workflow/missing';
import { refreshDefs } from './defsLoader';
import { uploadImageFile } from './imageUpload';
import { showMissing } from './MissingDialog';
import type { EditorGraph } from '../workflow/types';
import { currentDs, restoreViewport, viewport } from './viewport';

const AUTOSAVE_KEY = 'latentgraph.workflow';

function loadGraph(
  graph: EditorGraph,
  what: string,
  warnings: string[],
  missing: string[],
  report: boolean,
  importNotes: string[] = [],
): void {
  resetSubgraphNav();
  graphStore.load(graph);
  markSaved(what, null);
  if (report) showMissing(findMissing(flattenForChecks(graph, graphStore.get().defs), graphStore.get().defs), what);
  runStore.set({ outputs: {}, nodeErrors: {}, executionError: null, plan: null, nodeStates: {} });
  // Screens differ: an opened file is fitted to this one (the autosave keeps its own viewport).
  setTimeout(() => viewport.api?.fit(), 30);
  const notes = [
    missing.length ? `missing node types: ${missing.join(', ')}` : '',
    warnings.length ? `${warnings.length} problem(s) fixed: ${warnings.slice(0, 3).join('; ')}` : '',
    ...importNotes,
  ].filter(Boolean);
  runStore.notify(
    `Loaded ${what}${notes.length ? ` — ${notes.join(' — ')}` : ''}`,
    missing.length || warnings.length || importNotes.length ? 'error' : 'info',
  );
}

/**
 * Loads a parsed JSON document: a UI workflow or an API-format prompt. Returns false on error.
 * With `reportMissing` (the default) absent node types and files are listed in a dialog.
 */
export function loadJson(data: unknown, what: string, reportMissing = true): boolean {
  const defs = graphStore.get().defs;
  try {
    if (data && typeof data === 'object' && Array.isArray((data as { nodes?: unknown }).nodes)) {
      const { graph, warnings, missingTypes } = uiToEditor(data, defs);
      loadGraph(graph, what, warnings, missingTypes, reportMissing);
    } else {
      const { graph, warnings, missingTypes } = apiToEditor(data, defs);
      loadGraph(graph, `${what} (API format)`, warnings, missingTypes, reportMissing);
    }
    return true;
  } catch (e) {
    runStore.notify(`Could not open ${what}: ${(e as Error).message}`, 'error');
    return false;
  }
}

/** Uploads the image an img2img import starts from; its name in input/, or '' with the reason in `notes`. */
async function uploadInputImage(image: File | undefined, notes: string[]): Promise<string> {
  if (!image) {
    notes.push("no image to start from: choose LoadImage's image before queueing");
    return '';
  }
  const result = await uploadImageFile(image);
  if (!result.ok) {
    notes.push(`the image could not be uploaded (${result.message}): choose LoadImage's image before queueing`);
    return '';
  }
  await refreshDefs();
  return result.value;
}

/**
 * Builds a graph from A1111/Forge/SD.Next "parameters" text and loads it: txt2img, or img2img from `image`
 * (the file the text came from, uploaded to the input folder) when the text has a denoising strength.
 */
export async function loadA1111Parameters(text: string, what: string, image?: File): Promise<boolean> {
  const params = parseA1111Parameters(text);
  const uploadNotes: string[] = [];
  const mode = a1111Mode(params);
  const inputImage = mode === 'txt2img' ? '' : await uploadInputImage(image, uploadNotes);
  const defs = graphStore.get().defs;
  const choices = (type: string, input: string) => defs[type]?.inputs.find((i) => i.name === input)?.choices;
  const checkpoints = choices('CheckpointLoaderSimple', 'ckpt_name');
  const { prompt, notes } = a1111ToPrompt(
    params,
    {
      checkpoints,
      loras: choices('LoraLoader', 'lora_name'),
      vaes: choices('VAELoader', 'vae_name'),
      samplers: choices('KSampler', 'sampler_name'),
      schedulers: choices('KSampler', 'scheduler'),
      upscaleMethods: choices('LatentUpscaleBy', 'upscale_method'),
    },
    defaultCheckpoint(checkpoints),
    inputImage,
  );
  const source = mode === 'txt2img' ? 'A1111 parameters' : `A1111 ${mode} parameters`;
  const uploaded = inputImage ? `; the image is input/${inputImage}` : '';
  try {
    const { graph, warnings, missingTypes } = apiToEditor(prompt, defs);
    loadGraph(graph, `${what} (imported from ${source}${uploaded})`, warnings, missingTypes, true, [...uploadNotes, ...notes]);
    return true;
  } catch (e) {
    runStore.notify(`Could not open ${what}: ${(e as Error).message}`, 'error');
    return false;
  }
}

/** Opens a dropped or picked file (.json, or a .png/.jpg/.webp with an embedded workflow, API prompt or A1111 parameters). */
export async function openFile(file: File): Promise<boolean> {
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (imageFormat(bytes) !== null) {
      const embedded = documentFromImage(bytes);
      if (embedded === null) {
        runStore.notify(`${file.name} has no embedded workflow or prompt`, 'error');
        return false;
      }
      if (embedded.kind === 'parameters') return await loadA1111Parameters(embedded.data, file.name, file);
      return loadJson(embedded.data, file.name);
    }
    if (file.type.startsWith('image/') || /\.(png|jpe?g|webp)$/i.test(file.name)) {
      runStore.notify(`${file.name} is not a PNG, JPEG or WebP image`, 'error');
      return false;
    }
    const text = new TextDecoder().decode(bytes);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      runStore.notify(`${file.name} is not valid JSON: ${(e as Error).message}`, 'error');
      return false;
    }
    return loadJson(data, file.name);
  } catch (e) {
    runStore.notify(`Could not open ${file.name}: ${e instanceof PngError ? e.message : (e as Error).message}`, 'error');
    return false;
  }
}

/** The UI workflow as it would be saved (viewport included). */
export function currentWorkflow() {
  const graph = rootGraph();
  const ds = currentDs();
  if (ds) graph.extra = { ...graph.extra, ds };
  return editorToUi(graph, graphStore.get().defs);
}

function download(name: string, data: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function saveWorkflow(name = 'workflow.json'): void {
  download(name, currentWorkflow());
}

export function exportApi(name = 'workflow_api.json'): void {
  download(name, editorToPrompt(flattenSubgraphs(rootGraph(), graphStore.get().defs), graphStore.get().defs));
}

/** Replaces the graph with the default txt2img workflow. */
export function loadDefault(): void {
  const defs = graphStore.get().defs;
  const choices = defs.CheckpointLoaderSimple?.inputs.find((i) => i.name === 'ckpt_name')?.choices;
  loadJson(defaultWorkflow(defaultCheckpoint(choices)), 'default workflow', false);
}

export function clearGraph(): void {
  resetSubgraphNav();
  graphStore.load({ nodes: [], links: [], groups: [], lastNodeId: 0, lastLinkId: 0, extra: {} });
  runStore.set({ outputs: {}, nodeErrors: {}, executionError: null, plan: null, nodeStates: {}, message: null });
}

export function autosave(): void {
  try {
    localStorage.setItem(AUTOSAVE_KEY, JSON.stringify(currentWorkflow()));
  } catch {
    /* storage unavailable: nothing to do */
  }
}

let restoreHook: (() => boolean) | null = null;

/** Lets the tab list (editor/tabPersist.ts) restore every open tab first on start. */
export function onRestore(hook: () => boolean): void {
  restoreHook = hook;
}

/** Restores the autosaved workflow, or loads the default one on first start. */
export function restoreOrDefault(): void {
  if (restoreHook?.()) return;
  let saved: unknown = null;
  try {
    const text = localStorage.getItem(AUTOSAVE_KEY);
    saved = text ? JSON.parse(text) : null;
  } catch {
    saved = null;
  }
  if (!saved || !loadJsonQuiet(saved)) loadDefault();
}

function loadJsonQuiet(data: unknown): boolean {
  try {
    const { graph } = uiToEditor(data, graphStore.get().defs);
    resetSubgraphNav();
    graphStore.load(graph);
    restoreViewport(graph.extra);
    return true;
  } catch {
    return false;
  }
}
