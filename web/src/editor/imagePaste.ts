/**
 * What a paste (Ctrl+V) or a file dropped on a node does, decided from the clipboard's content and
 * the graph, with no side effects (imagePasteActions.ts carries the decisions out). The rules are
 * ComfyUI's (ComfyUI_frontend usePaste.ts): an image in the clipboard goes into the selected node
 * that has an image upload widget (LoadImage, LoadImageMask…), or into a new LoadImage node when
 * none is selected; otherwise clipboard text holding a workflow opens it; otherwise the copied
 * nodes are pasted. Clipboard files that are not images are ignored.
 */
import { type FlowNode, isLgNode } from '../store/flowModel';
import type { NodeDefs } from '../workflow/nodeDefs';
import type { EditorNode } from '../workflow/types';

/** The node type a pasted image creates when no image node is selected. */
export const NEW_IMAGE_NODE = 'LoadImage';

/**
 * The subfolder of input/ pasted images are uploaded to, as ComfyUI's editor does (its upload sends
 * `subfolder=pasted`); the widget's value then reads "pasted/image.png". Dropped files go to input/.
 */
export const PASTED_SUBFOLDER = 'pasted';

export type PastePlan =
  /** Upload `file` into input/`subfolder`; set it on node `targetId`, or on a new LoadImage node when `targetId` is null. */
  | { kind: 'image'; file: File; targetId: string | null; subfolder: string }
  /** Open `data` (a UI workflow or an API-format prompt) as a workflow. */
  | { kind: 'workflow'; data: unknown }
  /** Paste the nodes copied with Ctrl+C (the editor's own clipboard). */
  | { kind: 'nodes' };

/** The name of `node`'s image upload widget (LoadImage's `image`), if it has one shown as a widget. */
export function imageWidgetOf(node: EditorNode, defs: NodeDefs): string | undefined {
  const input = defs[node.type]?.inputs.find((i) => i.upload);
  return input && !node.converted.includes(input.name) ? input.name : undefined;
}

/**
 * The selected node a pasted image goes into: a selected node with an image upload widget; when
 * several are selected, the last one in drawing order (the topmost). Null when there is none.
 */
export function imageTargetId(nodes: readonly FlowNode[], defs: NodeDefs): string | null {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (isLgNode(n) && n.selected && imageWidgetOf(n.data.node, defs)) return n.id;
  }
  return null;
}

/** Whether `file` is an image by its MIME type (what the clipboard and a drop report). */
export const isImageFile = (file: File): boolean => file.type.startsWith('image/');

/** The first image among the clipboard's files; other files (text, PDF, …) are ignored. */
export function firstImageFile(files: readonly File[]): File | null {
  return files.find(isImageFile) ?? null;
}

function isUiWorkflow(data: unknown): boolean {
  const d = data as { version?: unknown; nodes?: unknown; extra?: unknown } | null;
  return Boolean(d && typeof d === 'object' && d.version !== undefined && Array.isArray(d.nodes) && d.extra);
}

function isApiPrompt(data: unknown): boolean {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return false;
  const entries = Object.values(data as Record<string, unknown>);
  return (
    entries.length > 0 &&
    entries.every((v) => {
      const n = v as { class_type?: unknown; inputs?: unknown } | null;
      return Boolean(n && typeof n === 'object' && typeof n.class_type === 'string' && n.inputs && typeof n.inputs === 'object');
    })
  );
}

function parseFrom(text: string, start: number): unknown {
  if (start < 0) return null;
  try {
    return JSON.parse(text.slice(start));
  } catch {
    return null;
  }
}

/**
 * The workflow held in pasted text, or null. As in ComfyUI the JSON starts at the first `{` (or
 * after a `workflow` line, as in text copied from an image's metadata) and counts as a UI workflow
 * when it has `version`, `nodes` and `extra`; an API-format prompt (every entry a `class_type` with
 * `inputs`) is accepted too.
 */
export function workflowFromText(text: string): unknown | null {
  if (!text) return null;
  let data = parseFrom(text, text.indexOf('{'));
  if (data === null) {
    const after = text.indexOf('workflow\n');
    data = after < 0 ? null : parseFrom(text, text.indexOf('{', after));
  }
  return isUiWorkflow(data) || isApiPrompt(data) ? data : null;
}

/** What a paste of these clipboard `files` and `text` does to the graph `nodes`. */
export function planPaste(clipboard: { files: readonly File[]; text: string }, nodes: readonly FlowNode[], defs: NodeDefs): PastePlan {
  const file = firstImageFile(clipboard.files);
  if (file) return { kind: 'image', file, targetId: imageTargetId(nodes, defs), subfolder: PASTED_SUBFOLDER };
  const data = workflowFromText(clipboard.text);
  if (data !== null) return { kind: 'workflow', data };
  return { kind: 'nodes' };
}

/** The node a file dropped on node `nodeId` goes into: that node when the file is an image and the node takes one. */
export function dropTargetId(file: File, nodeId: string | null, nodes: readonly FlowNode[], defs: NodeDefs): string | null {
  if (!nodeId || !isImageFile(file)) return null;
  const n = nodes.find((x) => x.id === nodeId);
  return n && isLgNode(n) && imageWidgetOf(n.data.node, defs) ? n.id : null;
}
