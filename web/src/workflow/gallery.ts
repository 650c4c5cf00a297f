/**
 * Pure helpers of the image viewer: stepping through a batch, what a key does in the lightbox,
 * the file name an output gets when downloaded or sent to input/, the LoadImage nodes to send to,
 * and how long a run took (from its history status messages).
 */
import type { EditorGraph } from './types';

export interface ImageRefLike {
  filename: string;
  subfolder?: string;
  type?: string;
}

/** Index `delta` steps from `index` in a batch of `count`, wrapping around at both ends. */
export function stepIndex(index: number, delta: number, count: number): number {
  if (count <= 0) return 0;
  return (((index + delta) % count) + count) % count;
}

export type LightboxAction = 'next' | 'previous' | 'close' | null;

/** What a key pressed in the lightbox does. */
export function lightboxAction(key: string): LightboxAction {
  if (key === 'ArrowRight' || key === 'ArrowDown') return 'next';
  if (key === 'ArrowLeft' || key === 'ArrowUp') return 'previous';
  if (key === 'Escape') return 'close';
  return null;
}

/** The images of a node's `ui` output (entries without a file name are skipped). */
export function outputImages(output: Record<string, unknown[]> | undefined): ImageRefLike[] {
  const list = (output?.images ?? []) as unknown[];
  return list.filter((i): i is ImageRefLike => !!i && typeof (i as ImageRefLike).filename === 'string');
}

/** The images of a history entry's outputs, in node order. */
export function runImages(outputs: Record<string, Record<string, unknown[]>> | undefined): ImageRefLike[] {
  return Object.values(outputs ?? {}).flatMap((o) => outputImages(o));
}

/** The LoadImage nodes an image can be sent to: id and a label for the menu. */
export function loadImageTargets(graph: EditorGraph): { id: string; label: string }[] {
  return graph.nodes
    .filter((n) => n.type === 'LoadImage')
    .map((n) => ({ id: n.id, label: n.title && n.title !== 'LoadImage' ? `${n.title} #${n.id}` : `LoadImage #${n.id}` }));
}

/**
 * Milliseconds between `execution_start` and the last of `execution_success`/`_error`/
 * `_interrupted` in a history entry's status messages; null when either is missing.
 */
export function runDurationMs(messages: [string, Record<string, unknown>][] | undefined): number | null {
  let start: number | null = null;
  let end: number | null = null;
  for (const [kind, data] of messages ?? []) {
    const t = Number(data?.timestamp);
    if (!Number.isFinite(t)) continue;
    if (kind === 'execution_start') start = t;
    else if (kind === 'execution_success' || kind === 'execution_error' || kind === 'execution_interrupted') end = t;
  }
  return start !== null && end !== null && end >= start ? end - start : null;
}

/** A duration for people: "850 ms", "12.3 s", "2 min 05 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
