/**
 * Carries out what imagePaste.ts decides: the document's `paste` handler (an image goes into the
 * selected LoadImage-like node or a new LoadImage node, a workflow in the text opens, otherwise the
 * copied nodes are pasted) and an image file dropped on such a node. The image is uploaded first,
 * a pasted one to input/pasted/ (as ComfyUI's editor does), a dropped one to input/; the node
 * changes only once the upload succeeded, in one undo step, and a failed upload shows the server's
 * answer in the message bar and changes nothing.
 */
import { graphStore } from '../store/graphStore';
import { runStore } from '../store/runStore';
import { loadJson } from './files';
import { dropTargetId, planPaste } from './imagePaste';
import { uploadToImageNode } from './imageUpload';
import { pointerOverCanvas } from './pointer';
import { typingInField } from './textFields';
import { viewport } from './viewport';

type Point = { x: number; y: number };

/**
 * Where a new node goes: under the mouse when it is over the canvas now, else at the centre of the
 * view (the mouse over a side panel, the queue panel or a dialog, or never moved).
 */
function pastePosition(): Point | undefined {
  const api = viewport.api;
  const canvas = api ? document.querySelector('.lg-canvas') : null;
  if (!api || !canvas) return undefined;
  const over = pointerOverCanvas(canvas);
  if (over) return api.toFlow(over);
  const box = canvas.getBoundingClientRect();
  return api.toFlow({ x: box.left + box.width / 2, y: box.top + box.height / 2 });
}

/**
 * Uploads `file` (into input/`subfolder` when given) and puts it on node `targetId`, or on a new
 * LoadImage node at `at` when `targetId` is null.
 */
export async function putImage(file: File, targetId: string | null, at?: Point, subfolder?: string): Promise<boolean> {
  const result = await uploadToImageNode(file, { nodeId: targetId, at }, { subfolder });
  if (!result.ok) runStore.notify(`Upload failed: ${result.message}`, 'error');
  return result.ok;
}

/** Drops `file` on node `nodeId` (null: not on a node); true when it went into that node's image widget. */
export function dropImageOnNode(file: File, nodeId: string | null): boolean {
  const { nodes, defs } = graphStore.get();
  const target = dropTargetId(file, nodeId, nodes, defs);
  if (target === null) return false;
  void putImage(file, target);
  return true;
}

function clipboardFiles(data: DataTransfer): File[] {
  const files = Array.from(data.files ?? []);
  if (files.length) return files;
  return Array.from(data.items ?? [])
    .filter((i) => i.kind === 'file')
    .map((i) => i.getAsFile())
    .filter((f): f is File => f !== null);
}

/** An action that runs on the next tick unless the browser event it waits for comes first and takes it. */
class EventFallback {
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** Run `action` on the next tick (replacing one still waiting). */
  arm(action: () => void): void {
    this.take();
    this.timer = setTimeout(() => {
      this.timer = null;
      action();
    }, 0);
  }

  /** The awaited event came: the waiting action will not run. */
  take(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

const pasteFallback = new EventFallback();
const copyFallback = new EventFallback();

/**
 * Ctrl+V was pressed: the browser's `paste` event that follows decides what is pasted. Should none
 * come (a browser that sends none outside text fields), `pasteNodes` runs on the next tick.
 */
export function expectPasteEvent(pasteNodes: () => void): void {
  pasteFallback.arm(pasteNodes);
}

/** Ctrl+C was pressed: the browser's `copy` event that follows copies the nodes (`onCopy`); should none
 * come, `copyNodes` runs on the next tick. */
export function expectCopyEvent(copyNodes: () => void): void {
  copyFallback.arm(copyNodes);
}

/**
 * The document's `copy` handler (as ComfyUI's): outside text fields it copies the selected nodes into the
 * editor's clipboard and writes a blank into the system clipboard instead of leaving what was copied
 * there before, so the next Ctrl+V pastes these nodes, not an older screenshot or workflow text.
 */
export function onCopy(e: ClipboardEvent, copyNodes: () => boolean | void): void {
  if (typingInField(e.target) || hasTextSelection()) return;
  copyFallback.take();
  if (copyNodes() === false) return; // nothing selected: the browser does its own copy
  e.clipboardData?.setData('text/plain', ' ');
  e.preventDefault();
}

function hasTextSelection(): boolean {
  const selection = typeof window !== 'undefined' ? window.getSelection() : null;
  return Boolean(selection && !selection.isCollapsed && selection.toString().trim());
}

/** The document's `paste` handler (ComfyUI's rules, imagePaste.ts); pastes in text fields are left to them. */
export function onPaste(e: ClipboardEvent, pasteNodes: () => void): void {
  if (typingInField(e.target)) return;
  pasteFallback.take();
  const data = e.clipboardData;
  const { nodes, defs } = graphStore.get();
  const plan = planPaste({ files: data ? clipboardFiles(data) : [], text: data?.getData('text/plain') ?? '' }, nodes, defs);
  e.preventDefault();
  if (plan.kind === 'image') void putImage(plan.file, plan.targetId, pastePosition(), plan.subfolder);
  else if (plan.kind === 'workflow') loadJson(plan.data, 'pasted workflow');
  else pasteNodes();
}
