/**
 * Node definitions derived from /object_info — the single description of every node type.
 * Widgets, sockets, their order (which is also the `widgets_values` order) come from here.
 */
import type { InputSpecJson, NodeInfo, ObjectInfo } from '../api/types';
import type { EditorNode } from './types';

export type WidgetKind = 'INT' | 'FLOAT' | 'STRING' | 'BOOLEAN' | 'COMBO';
const WIDGET_KINDS = new Set<string>(['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO']);
export const CONTROL_VALUES = ['fixed', 'increment', 'decrement', 'randomize'] as const;
const SEED_NAMES = new Set(['seed', 'noise_seed']);

export interface InputDef {
  name: string;
  /** Socket type; "COMBO" for choice lists. */
  type: string;
  required: boolean;
  options: Record<string, unknown>;
  choices?: unknown[];
  /** Shown as a widget (a widget kind without forceInput). */
  isWidget: boolean;
  /** Followed by a control_after_generate slot (fixed/increment/decrement/randomize). */
  control: boolean;
  /** Combo with an image upload button (LoadImage). */
  upload: boolean;
}

export interface OutputDef {
  name: string;
  type: string;
  isList: boolean;
}

export interface NodeDef {
  name: string;
  displayName: string;
  category: string;
  description: string;
  inputs: InputDef[];
  outputs: OutputDef[];
  outputNode: boolean;
}

export type NodeDefs = Record<string, NodeDef>;

/** A socket of a node as drawn and as written into a UI workflow's `inputs`/`outputs`. */
export interface SocketDef {
  /** Input name (or "#<index>" for raw nodes); outputs use the slot index. */
  key: string;
  name: string;
  type: string;
  /** For an input socket that stands for a converted widget. */
  widget?: string;
  optional?: boolean;
}

function parseInput(name: string, spec: InputSpecJson, required: boolean): InputDef {
  if (!Array.isArray(spec) || (spec as unknown[]).length === 0) {
    throw new Error(`input "${name}": expected [type, options], got ${JSON.stringify(spec)}`);
  }
  const head = spec[0];
  const options = (spec[1] && typeof spec[1] === 'object' ? spec[1] : {}) as Record<string, unknown>;
  let type: string;
  let choices: unknown[] | undefined;
  if (Array.isArray(head)) {
    type = 'COMBO';
    choices = head;
  } else if (head === 'COMBO') {
    type = 'COMBO';
    choices = Array.isArray(options.options) ? (options.options as unknown[]) : [];
  } else {
    type = String(head);
  }
  const isWidget = WIDGET_KINDS.has(type) && !options.forceInput && !options.defaultInput;
  const control =
    isWidget &&
    (type === 'INT' || type === 'COMBO') &&
    (Boolean(options.control_after_generate) || (type === 'INT' && SEED_NAMES.has(name)));
  const upload = type === 'COMBO' && Boolean(options.image_upload);
  return { name, type, required, options, choices, isWidget, control, upload };
}

function orderedNames(section: Record<string, unknown> | undefined, order: string[] | undefined): string[] {
  const keys = Object.keys(section ?? {});
  if (!order) return keys;
  return [...order.filter((k) => keys.includes(k)), ...keys.filter((k) => !order.includes(k))];
}

/** Parses one /object_info entry; throws with the node and input named on malformed data. */
export function parseNodeInfo(name: string, info: NodeInfo): NodeDef {
  if (!info || typeof info !== 'object' || !info.input || !Array.isArray(info.output)) {
    throw new Error(`object_info["${name}"]: missing "input" or "output"`);
  }
  const inputs: InputDef[] = [];
  for (const [section, required] of [
    ['required', true],
    ['optional', false],
  ] as const) {
    const specs = info.input[section] ?? {};
    for (const key of orderedNames(specs, info.input_order?.[section])) {
      try {
        inputs.push(parseInput(key, specs[key], required));
      } catch (e) {
        throw new Error(`object_info["${name}"]: ${(e as Error).message}`);
      }
    }
  }
  const outputs = info.output.map((t, i) => {
    const type = Array.isArray(t) ? 'COMBO' : String(t);
    return { type, name: info.output_name?.[i] ?? type, isList: Boolean(info.output_is_list?.[i]) };
  });
  return {
    name,
    displayName: info.display_name || name,
    category: info.category ?? 'sd',
    description: info.description ?? '',
    inputs,
    outputs,
    outputNode: Boolean(info.output_node),
  };
}

/** Parses all of /object_info. Malformed entries are skipped and reported in `errors`. */
export function parseObjectInfo(info: ObjectInfo): { defs: NodeDefs; errors: string[] } {
  const defs: NodeDefs = {};
  const errors: string[] = [];
  for (const [name, entry] of Object.entries(info ?? {})) {
    try {
      defs[name] = parseNodeInfo(name, entry);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { defs, errors };
}

export function widgetInputs(def: NodeDef): InputDef[] {
  return def.inputs.filter((i) => i.isWidget);
}

/** Default value of a widget as ComfyUI's frontend picks it. */
export function defaultWidgetValue(input: InputDef): unknown {
  const d = input.options.default;
  if (input.type === 'COMBO') {
    if (d !== undefined && input.choices?.includes(d)) return d;
    return input.choices?.[0] ?? '';
  }
  if (d !== undefined) return d;
  switch (input.type) {
    case 'INT':
    case 'FLOAT':
      return typeof input.options.min === 'number' ? Math.max(0, input.options.min) : 0;
    case 'BOOLEAN':
      return false;
    default:
      return '';
  }
}

export function defaultControlValue(input: InputDef): string {
  const c = input.options.control_after_generate;
  return typeof c === 'string' && (CONTROL_VALUES as readonly string[]).includes(c) ? c : 'randomize';
}

/** Frontend-only node types: never sent to the server. */
export const VIRTUAL_TYPES = new Set(['Reroute', 'PrimitiveNode', 'Note', 'MarkdownNote']);

/** Input and output sockets of a node, in the order they are drawn and saved. */
export function nodeSockets(node: EditorNode, defs: NodeDefs): { inputs: SocketDef[]; outputs: SocketDef[] } {
  const def = defs[node.type];
  if (!def || node.raw) {
    const raw = node.raw ?? { inputs: [], outputs: [], widgets_values: [] };
    return {
      inputs: raw.inputs.map((s, i) => ({ key: `#${i}`, name: s.name, type: s.type, widget: s.widget?.name })),
      outputs: raw.outputs.map((s, i) => ({ key: String(i), name: s.name, type: s.type })),
    };
  }
  const inputs: SocketDef[] = def.inputs
    .filter((i) => !i.isWidget)
    .map((i) => ({ key: i.name, name: i.name, type: i.type, optional: !i.required }));
  for (const name of node.converted) {
    const input = def.inputs.find((i) => i.name === name && i.isWidget);
    if (input) inputs.push({ key: name, name, type: input.type, widget: name, optional: !input.required });
  }
  const outputs = def.outputs.map((o, i) => ({ key: String(i), name: o.name, type: o.type }));
  return { inputs, outputs };
}
