/**
 * The app view's choice of fields, stored in the workflow's `extra.linearData` exactly where
 * ComfyUI's frontend keeps its app mode: `{ inputs: [[nodeId, widgetName, config?], ...], outputs: [nodeId, ...] }`.
 * An input's id is a node id (number or string) or ComfyUI's newer widget id "graphId:nodeId:name";
 * both are read, and fields added here are written as `[nodeId, widgetName]`, which ComfyUI upgrades
 * on load. Outputs are node ids (`[9, 12]`), in the order they are shown. Entries and keys written
 * by ComfyUI (per-field config, ids this editor cannot read) are kept as they are.
 * Pure functions on `extra`: the store commits their result as one undoable edit.
 */

/** One field of the app view: widget `widget` of node `nodeId`. */
export interface AppField {
  nodeId: string;
  widget: string;
}

/** An entry as stored: `[id, widgetName, config?]` when readable, anything else is kept untouched. */
type StoredInput = unknown;

interface StoredLinearData {
  inputs: StoredInput[];
  outputs: unknown[];
  [key: string]: unknown;
}

export const LINEAR_DATA_KEY = 'linearData';

const WIDGET_ID = /^([^:]+):([^:]+):([^:]+)$/;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The node id an input entry points at, or null when it cannot be read. */
function entryNodeId(id: unknown): string | null {
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (typeof id !== 'string' || id === '') return null;
  const m = WIDGET_ID.exec(id);
  return m ? decode(m[2]) : id;
}

function storedData(extra: Record<string, unknown>): StoredLinearData {
  const raw = extra[LINEAR_DATA_KEY];
  const obj = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const inputs: StoredInput[] = Array.isArray(obj.inputs) ? obj.inputs : [];
  const outputs = Array.isArray(obj.outputs) ? obj.outputs : [];
  return { ...obj, inputs, outputs };
}

function entryField(entry: StoredInput): AppField | null {
  if (!Array.isArray(entry) || entry.length < 2) return null;
  const nodeId = entryNodeId(entry[0]);
  return nodeId !== null && typeof entry[1] === 'string' ? { nodeId, widget: entry[1] } : null;
}

/** The fields of the app view, in order (unreadable entries are skipped). */
export function appFields(extra: Record<string, unknown>): AppField[] {
  return storedData(extra)
    .inputs.map(entryField)
    .filter((f): f is AppField => f !== null);
}

/** The output nodes the workflow's app view names (empty: every output node counts). */
export function appOutputNodeIds(extra: Record<string, unknown>): string[] {
  return storedData(extra)
    .outputs.map(entryNodeId)
    .filter((id): id is string => id !== null);
}

export function sameField(a: AppField, b: AppField): boolean {
  return a.nodeId === b.nodeId && a.widget === b.widget;
}

export function hasAppField(extra: Record<string, unknown>, field: AppField): boolean {
  return appFields(extra).some((f) => sameField(f, field));
}

/** Node ids stay numbers where they are (ComfyUI's SerializedNodeId), other ids strings. */
function storedNodeId(nodeId: string): number | string {
  return /^\d+$/.test(nodeId) ? Number(nodeId) : nodeId;
}

function withInputs(extra: Record<string, unknown>, update: (inputs: StoredInput[]) => StoredInput[]): Record<string, unknown> {
  const data = storedData(extra);
  return { ...extra, [LINEAR_DATA_KEY]: { ...data, inputs: update(data.inputs) } };
}

/** `extra` with `field` appended to the app view (unchanged when it is there already). */
export function withAppField(extra: Record<string, unknown>, field: AppField): Record<string, unknown> {
  if (hasAppField(extra, field)) return extra;
  return withInputs(extra, (inputs) => [...inputs, [storedNodeId(field.nodeId), field.widget]]);
}

/** Positions in the stored list of the readable entries, so that moves keep unreadable ones in place. */
function readableIndexes(inputs: StoredInput[]): number[] {
  return inputs.flatMap((e, i) => (entryField(e) ? [i] : []));
}

/** `extra` without field number `index` (of `appFields`). */
export function withoutAppField(extra: Record<string, unknown>, index: number): Record<string, unknown> {
  return withInputs(extra, (inputs) => {
    const at = readableIndexes(inputs)[index];
    return at === undefined ? inputs : inputs.filter((_, i) => i !== at);
  });
}

/** `extra` with field number `index` moved by `delta` places (-1 up, +1 down); unchanged at the ends. */
export function withMovedAppField(extra: Record<string, unknown>, index: number, delta: number): Record<string, unknown> {
  const positions = readableIndexes(storedData(extra).inputs);
  const from = positions[index];
  const to = positions[index + delta];
  if (from === undefined || to === undefined) return extra;
  return withInputs(extra, (inputs) => {
    const next = [...inputs];
    [next[from], next[to]] = [next[to], next[from]];
    return next;
  });
}

function withOutputs(extra: Record<string, unknown>, update: (outputs: unknown[]) => unknown[]): Record<string, unknown> {
  const data = storedData(extra);
  return { ...extra, [LINEAR_DATA_KEY]: { ...data, outputs: update(data.outputs) } };
}

/** `extra` with output node `nodeId` appended to the app view's outputs (unchanged when it is there). */
export function withAppOutput(extra: Record<string, unknown>, nodeId: string): Record<string, unknown> {
  if (appOutputNodeIds(extra).includes(nodeId)) return extra;
  return withOutputs(extra, (outputs) => [...outputs, storedNodeId(nodeId)]);
}

/** `extra` without output node `nodeId` among the app view's outputs (unchanged when it is not there). */
export function withoutAppOutput(extra: Record<string, unknown>, nodeId: string): Record<string, unknown> {
  if (!appOutputNodeIds(extra).includes(nodeId)) return extra;
  return withOutputs(extra, (outputs) => outputs.filter((id) => entryNodeId(id) !== nodeId));
}

/**
 * `extra` with chosen output `nodeId` moved by `delta` places (-1 up, +1 down) in the order the app
 * view shows them; unchanged at the ends or when it is not chosen. Unreadable entries and repeats
 * of an id stay where they are.
 */
export function withMovedAppOutput(extra: Record<string, unknown>, nodeId: string, delta: number): Record<string, unknown> {
  const seen = new Set<string>();
  const positions: number[] = [];
  const ids: string[] = [];
  storedData(extra).outputs.forEach((entry, i) => {
    const id = entryNodeId(entry);
    if (id === null || seen.has(id)) return;
    seen.add(id);
    positions.push(i);
    ids.push(id);
  });
  const index = ids.indexOf(nodeId);
  const from = positions[index];
  const to = positions[index + delta];
  if (index < 0 || from === undefined || to === undefined) return extra;
  return withOutputs(extra, (outputs) => {
    const next = [...outputs];
    [next[from], next[to]] = [next[to], next[from]];
    return next;
  });
}
