/** HTTP client for the ComfyUI-compatible routes (plus POST /api/plan of ours). */
import type { ApiPrompt, History, NodeErrors, ObjectInfo, PlanResult, QueueMove, QueueState } from './types';

/** The server refused a prompt (400): `message` is the top error, `nodeErrors` per node. */
export class PromptRejected extends Error {
  constructor(
    message: string,
    readonly nodeErrors: NodeErrors,
  ) {
    super(message);
  }
}

async function request(path: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(path, init);
  if (!res.ok) {
    let detail = '';
    try {
      detail = (await res.text()).slice(0, 300);
    } catch {
      /* body unreadable */
    }
    throw new Error(`${init?.method ?? 'GET'} ${path} failed: HTTP ${res.status}${detail ? ` — ${detail}` : ''}`);
  }
  return res;
}

const postJson = (path: string, body: unknown) =>
  request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

export async function getObjectInfo(): Promise<ObjectInfo> {
  return (await request('/object_info')).json();
}

export interface QueueResult {
  prompt_id: string;
  number: number;
  node_errors: NodeErrors;
}

/** The editor draws live previews, so it asks for them per prompt: the server sends none unless asked. */
export const PREVIEW_METHOD = 'auto';

/** POST /prompt. Throws PromptRejected with the server's node_errors on a 400. A `previewMethod`
 * of null sends none (the server's --preview-method decides). */
export async function queuePrompt(
  prompt: ApiPrompt,
  workflow: unknown,
  clientId: string,
  front = false,
  previewMethod: string | null = PREVIEW_METHOD,
): Promise<QueueResult> {
  const extra_data = { extra_pnginfo: { workflow }, ...(previewMethod !== null ? { preview_method: previewMethod } : {}) };
  const body = { client_id: clientId, prompt, extra_data, ...(front ? { front: true } : {}) };
  const res = await fetch('/prompt', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  let data: Record<string, unknown> = {};
  try {
    data = await res.json();
  } catch {
    if (!res.ok) throw new Error(`POST /prompt failed: HTTP ${res.status}`);
  }
  if (!res.ok) {
    const err = data.error as { message?: string; details?: string } | string | undefined;
    const message = typeof err === 'string' ? err : [err?.message, err?.details].filter(Boolean).join(': ') || `HTTP ${res.status}`;
    throw new PromptRejected(message, (data.node_errors as NodeErrors) ?? {});
  }
  return data as unknown as QueueResult;
}

export async function getQueue(): Promise<QueueState> {
  return (await request('/queue')).json();
}

export async function deleteFromQueue(ids: string[]): Promise<void> {
  await postJson('/queue', { delete: ids });
}

export async function clearQueue(): Promise<void> {
  await postJson('/queue', { clear: true });
}

/** GET /queue with our `paused` flag (false from a server that does not know it). */
export async function getQueueWithPause(): Promise<QueueState & { paused: boolean }> {
  const q = (await getQueue()) as QueueState & { paused?: unknown };
  return { ...q, paused: q.paused === true };
}

/** POST /queue {"pause": true} or {"resume": true}: while paused no new prompt starts. */
export async function setQueuePaused(paused: boolean): Promise<void> {
  await postJson('/queue', paused ? { pause: true } : { resume: true });
}

/** POST /queue {"move": ...}: a pending prompt to the front/back or before another pending one. */
export async function moveInQueue(move: QueueMove): Promise<void> {
  await postJson('/queue', { move });
}

export async function interrupt(): Promise<void> {
  await request('/interrupt', { method: 'POST' });
}

export async function getHistory(maxItems = 50): Promise<History> {
  return (await request(`/history?max_items=${maxItems}`)).json();
}

export async function deleteHistory(ids: string[]): Promise<void> {
  await postJson('/history', { delete: ids });
}

export async function clearHistory(): Promise<void> {
  await postJson('/history', { clear: true });
}

/** POST /api/plan; null when the server has no such route (the overlay is then not shown). */
export async function planPrompt(prompt: ApiPrompt): Promise<PlanResult | null> {
  try {
    const res = await fetch('/api/plan', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt }),
    });
    if (!res.ok) return null;
    const data = await res.json();
    if (!Array.isArray(data?.run) || !Array.isArray(data?.cached)) return null;
    return { run: data.run.map(String), cached: data.cached.map(String) };
  } catch {
    return null;
  }
}

/** URL of an output/input/temp image for an <img>. */
export function viewUrl(ref: { filename: string; subfolder?: string; type?: string }): string {
  const q = new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder ?? '', type: ref.type ?? 'output' });
  return `/view?${q.toString()}`;
}

/** The URL of an image named like a LoadImage value ("sub/name.png [input]"). */
export function inputImageUrl(value: string): string {
  const m = /^(.*?)(?: \[(input|output|temp)\])?$/.exec(value)!;
  const path = m[1];
  const slash = path.lastIndexOf('/');
  return viewUrl({ filename: path.slice(slash + 1), subfolder: slash >= 0 ? path.slice(0, slash) : '', type: m[2] ?? 'input' });
}
