/**
 * Which run results a canvas node shows. Results arrive under the prompt's ids, where a node
 * inside a subgraph instance is "<instance>:<inner>" (nested: "10:3:5"). On the root canvas an
 * instance shows the results of every node inside it (as ComfyUI shows a subgraph's images on
 * the instance); inside instance 10 the node "9" shows the results of "10:9".
 */
import type { UiOutput } from '../api/types';

/** The prompt id of canvas node `nodeId` when the canvas shows the inside of the instances `path` (outermost first). */
export function promptIdOf(path: string[], nodeId: string): string {
  return [...path, nodeId].join(':');
}

/** The keys of `results` that belong to canvas node `nodeId`: its own, then those of nodes inside it. */
export function resultKeysOf(results: Record<string, unknown>, path: string[], nodeId: string): string[] {
  const own = promptIdOf(path, nodeId);
  const inner = `${own}:`;
  return Object.keys(results).filter((k) => k === own || k.startsWith(inner));
}

/** The `ui` output shown on canvas node `nodeId`: its own, or those of the nodes inside it merged (lists joined). */
export function outputsOnNode(outputs: Record<string, UiOutput>, path: string[], nodeId: string): UiOutput | undefined {
  const keys = resultKeysOf(outputs, path, nodeId);
  if (keys.length <= 1) return keys.length ? outputs[keys[0]] : undefined;
  const merged: UiOutput = {};
  for (const key of keys) {
    for (const [name, list] of Object.entries(outputs[key])) {
      merged[name] = [...(merged[name] ?? []), ...(Array.isArray(list) ? list : [list])];
    }
  }
  return merged;
}

/** The latest latent preview for canvas node `nodeId` (its own, else one of a node inside it). */
export function previewOnNode(previews: Record<string, string>, path: string[], nodeId: string): string | undefined {
  const keys = resultKeysOf(previews, path, nodeId);
  return previews[promptIdOf(path, nodeId)] ?? (keys.length ? previews[keys[keys.length - 1]] : undefined);
}

/** Whether the prompt's node `runId` (executing, in progress, failed) is canvas node `nodeId` or inside it. */
export function runIdOnNode(runId: string | null | undefined, path: string[], nodeId: string): boolean {
  if (!runId) return false;
  const own = promptIdOf(path, nodeId);
  return runId === own || runId.startsWith(`${own}:`);
}

/** The validation errors shown on canvas node `nodeId`: its own, else those of the first failing node inside it. */
export function errorsOnNode<T>(errors: Record<string, T>, path: string[], nodeId: string): T | undefined {
  const own = errors[promptIdOf(path, nodeId)];
  if (own !== undefined) return own;
  const key = Object.keys(errors).find((k) => runIdOnNode(k, path, nodeId));
  return key === undefined ? undefined : errors[key];
}
