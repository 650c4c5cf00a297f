/**
 * Subgraph instances → one flat editor graph, as ComfyUI's editor flattens them when it queues.
 *
 * Definitions live in the workflow's `definitions.subgraphs` (kept raw in `graph.passthrough`);
 * a node whose type is a definition id is an instance. Inside a definition, links from the
 * boundary input node carry origin_id -10 (origin_slot = subgraph input index) and links into the
 * boundary output node target_id -20 (target_slot = output index). Flattening gives each inner
 * node the execution id "<instanceId>:<innerId>" (nested: "12:3:5"), rewires links through the
 * boundary nodes, and writes the instance's promoted widget values into the widgets they feed.
 * Muted and bypassed instances are left as they are: editorToPrompt drops or bypasses them.
 * The result goes through editorToPrompt like any graph (see graph/subgraphs.py for the server's twin).
 */
import { CONTROL_VALUES, type NodeDefs } from './nodeDefs';
import { uiToEditor } from './fromUi';
import { type EditorGraph, type EditorLink, type EditorNode, MODE_BYPASS, MODE_NEVER, type UiNode } from './types';

export const SUBGRAPH_INPUT_ID = -10;
export const SUBGRAPH_OUTPUT_ID = -20;
export const INPUT_NODE = String(SUBGRAPH_INPUT_ID);
export const OUTPUT_NODE = String(SUBGRAPH_OUTPUT_ID);
const MAX_NESTING = 32;

/** One `definitions.subgraphs[]` entry as ComfyUI saves it (only what the editor reads). */
export interface UiSubgraphDefinition {
  id: string;
  name?: string;
  inputs?: { id?: string; name: string; type: string; linkIds?: number[]; [k: string]: unknown }[];
  outputs?: { id?: string; name: string; type: string; linkIds?: number[]; [k: string]: unknown }[];
  widgets?: unknown[];
  inputNode?: { id: number; bounding: number[] };
  outputNode?: { id: number; bounding: number[] };
  nodes: UiNode[];
  links: unknown[];
  definitions?: { subgraphs?: UiSubgraphDefinition[] };
  [key: string]: unknown;
}

/** All subgraph definitions of a graph by id (the root list and lists nested in definitions). */
export function subgraphDefinitions(graph: Pick<EditorGraph, 'passthrough'>): Map<string, UiSubgraphDefinition> {
  const found = new Map<string, UiSubgraphDefinition>();
  const pending: unknown[] = [...listOf(graph.passthrough?.definitions)];
  while (pending.length) {
    const d = pending.shift() as UiSubgraphDefinition;
    if (!d || typeof d !== 'object' || typeof d.id !== 'string' || found.has(d.id)) continue;
    found.set(d.id, d);
    pending.push(...listOf(d.definitions));
  }
  return found;
}

function listOf(definitions: unknown): unknown[] {
  const list = (definitions as { subgraphs?: unknown } | undefined)?.subgraphs;
  return Array.isArray(list) ? list : [];
}

/** True when the graph holds at least one subgraph instance. */
export function hasSubgraphInstances(graph: EditorGraph): boolean {
  const defsById = subgraphDefinitions(graph);
  return graph.nodes.some((n) => defsById.has(n.type));
}

/**
 * A definition's inner graph as an editor graph, the boundary nodes included as raw nodes
 * "-10" (one output per subgraph input) and "-20" (one input "#j" per subgraph output).
 */
export function definitionGraph(def: UiSubgraphDefinition, defs: NodeDefs): EditorGraph {
  const inputNode: UiNode = {
    id: SUBGRAPH_INPUT_ID,
    type: 'SubgraphInputNode',
    pos: [0, 0],
    outputs: (def.inputs ?? []).map((i) => ({ name: i.name, type: i.type, links: [] })),
  };
  const outputNode: UiNode = {
    id: SUBGRAPH_OUTPUT_ID,
    type: 'SubgraphOutputNode',
    pos: [0, 0],
    inputs: (def.outputs ?? []).map((o) => ({ name: o.name, type: o.type, link: null })),
  };
  const nodes = [...(Array.isArray(def.nodes) ? def.nodes : []), inputNode, outputNode];
  const links = Array.isArray(def.links) ? def.links : [];
  const groups = Array.isArray(def.groups) ? def.groups : [];
  return uiToEditor({ nodes, links, groups, version: 1 } as never, defs).graph;
}

/** Instance input slot (index into its saved inputs) for each definition input: by name, else by position. */
export function instanceInputSlots(instance: EditorNode, def: UiSubgraphDefinition): (number | undefined)[] {
  const saved = instance.raw?.inputs ?? [];
  const defined = new Set((def.inputs ?? []).map((i) => i.name));
  const used = new Set<number>();
  return (def.inputs ?? []).map((io, index) => {
    let k = saved.findIndex((s, i) => !used.has(i) && s.name === io.name);
    if (k < 0 && index < saved.length && !defined.has(saved[index].name) && !used.has(index)) k = index;
    if (k < 0) return undefined;
    used.add(k);
    return k;
  });
}

/**
 * Where each promoted input's value sits in the instance's `widgets_values`: an array index, or
 * the input's name when the values are saved by name. Absent: the list is too short (not saved).
 * `promoted` lists the definition input indexes that carry a promoted widget, in save order.
 */
export function promotedLayout(
  instance: EditorNode,
  def: UiSubgraphDefinition,
  inner: EditorGraph,
  slots: (number | undefined)[],
  defs: NodeDefs,
): { promoted: number[]; positions: Map<number, number | string> } {
  const saved = instance.raw?.inputs ?? [];
  const feedsWidget = new Set<number>();
  const innerById = new Map(inner.nodes.map((n) => [n.id, n]));
  for (const l of inner.links) {
    if (l.source !== INPUT_NODE) continue;
    const target = innerById.get(l.target);
    const input = target && !target.raw ? defs[target.type]?.inputs.find((i) => i.name === l.targetInput) : undefined;
    if (input?.isWidget) feedsWidget.add(l.sourceSlot);
  }
  const promoted = (def.inputs ?? [])
    .map((_, i) => i)
    .filter((i) => feedsWidget.has(i) || (slots[i] !== undefined && saved[slots[i]!].widget));
  const list = instance.raw?.widgets_values;
  const named = list && !Array.isArray(list) ? list : {};
  const values = Array.isArray(list) ? list : [];
  const hasControls = values.length > promoted.length;
  const isControl = (v: unknown) => typeof v === 'boolean' || (CONTROL_VALUES as readonly unknown[]).includes(v);
  const positions = new Map<number, number | string>();
  let index = 0;
  for (const i of promoted) {
    const name = def.inputs![i].name;
    if (name in named) positions.set(i, name);
    else if (index < values.length) positions.set(i, index);
    index++;
    if (hasControls && index < values.length && isControl(values[index])) index++;
  }
  return { promoted, positions };
}

/** Promoted widget values of an instance by definition input index (ComfyUI saves them in input order). */
export function promotedValues(
  instance: EditorNode,
  def: UiSubgraphDefinition,
  inner: EditorGraph,
  slots: (number | undefined)[],
  defs: NodeDefs,
): Map<number, unknown> {
  const list = instance.raw?.widgets_values;
  const { positions } = promotedLayout(instance, def, inner, slots, defs);
  const result = new Map<number, unknown>();
  for (const [i, at] of positions) {
    result.set(i, typeof at === 'string' ? (list as Record<string, unknown>)[at] : (list as unknown[])[at]);
  }
  return result;
}

/** Flattens every active subgraph instance of `graph`, recursively. Returns `graph` itself when it has none. */
export function flattenSubgraphs(graph: EditorGraph, defs: NodeDefs): EditorGraph {
  const defsById = subgraphDefinitions(graph);
  if (!graph.nodes.some((n) => defsById.has(n.type))) return graph;
  const flat = flattenLevel(graph, defsById, defs, []);
  return { ...graph, nodes: flat.nodes, links: flat.links };
}

/** The graph as it runs, for checks (missing types and files): flattened, instances left unexpanded dropped. */
export function flattenForChecks(graph: EditorGraph, defs: NodeDefs): EditorGraph {
  const ids = subgraphDefinitions(graph);
  let flat = graph;
  try {
    flat = flattenSubgraphs(graph, defs);
  } catch {
    /* a broken definition is reported when the workflow is queued */
  }
  return { ...flat, nodes: flat.nodes.filter((n) => !ids.has(n.type)) };
}

function flattenLevel(graph: EditorGraph, defsById: Map<string, UiSubgraphDefinition>, defs: NodeDefs, active: string[]): EditorGraph {
  let result: EditorGraph = { ...graph, nodes: graph.nodes.map((n) => ({ ...n, widgets: { ...n.widgets } })) };
  for (const instance of graph.nodes) {
    const def = defsById.get(instance.type);
    if (!def || instance.mode === MODE_NEVER || instance.mode === MODE_BYPASS) continue;
    if (active.includes(def.id)) throw new Error(`subgraph "${def.name ?? def.id}" contains an instance of itself`);
    if (active.length >= MAX_NESTING) throw new Error(`subgraph instances nest more than ${MAX_NESTING} levels`);
    const innerRaw = definitionGraph(def, defs);
    const promoted = promotedValues(instance, def, innerRaw, instanceInputSlots(instance, def), defs);
    const inner = flattenLevel(innerRaw, defsById, defs, [...active, def.id]);
    result = expandInstance(result, instance, def, inner, promoted, (innerId) => `${instance.id}:${innerId}`);
  }
  return result;
}

/**
 * Replaces `instance` in `graph` by the nodes of `inner` (its definition graph, boundary nodes
 * "-10"/"-20" included) with ids `idFor(innerId)`, wiring links across the boundary and writing
 * promoted values (by definition input index) into the widgets of unconnected subgraph inputs.
 */
export function expandInstance(
  graph: EditorGraph,
  instance: EditorNode,
  def: UiSubgraphDefinition,
  inner: EditorGraph,
  promoted: Map<number, unknown>,
  idFor: (innerId: string) => string,
): EditorGraph {
  const links = graph.links;
  let nextLinkId = Math.max(0, graph.lastLinkId, ...links.map((l) => l.id)) + 1;
  const slots = instanceInputSlots(instance, def);
  const outerInto = (defInput: number) =>
    slots[defInput] === undefined ? undefined : links.find((l) => l.target === instance.id && l.targetInput === `#${slots[defInput]}`);
  const added: EditorLink[] = [];
  const innerNodes: EditorNode[] = [];
  for (const n of inner.nodes) {
    if (n.id === INPUT_NODE || n.id === OUTPUT_NODE) continue;
    innerNodes.push({ ...n, id: idFor(n.id), widgets: { ...n.widgets } });
  }
  const innerById = new Map(innerNodes.map((n) => [n.id, n]));
  for (const l of inner.links) {
    if (l.target === OUTPUT_NODE) continue;
    if (l.source !== INPUT_NODE) {
      added.push({ ...l, id: nextLinkId++, source: idFor(l.source), target: idFor(l.target) });
      continue;
    }
    const outer = outerInto(l.sourceSlot);
    if (outer) added.push({ ...l, id: nextLinkId++, source: outer.source, sourceSlot: outer.sourceSlot, target: idFor(l.target) });
    else if (promoted.has(l.sourceSlot)) {
      const target = innerById.get(idFor(l.target));
      if (target && !target.raw) target.widgets[l.targetInput] = promoted.get(l.sourceSlot);
    }
  }
  for (const l of links) {
    if (l.source !== instance.id) continue;
    const from = inner.links.find((x) => x.target === OUTPUT_NODE && x.targetInput === `#${l.sourceSlot}`);
    if (!from) continue;
    if (from.source === INPUT_NODE) {
      const outer = outerInto(from.sourceSlot);
      if (outer) added.push({ ...l, id: nextLinkId++, source: outer.source, sourceSlot: outer.sourceSlot });
    } else added.push({ ...l, id: nextLinkId++, source: idFor(from.source), sourceSlot: from.sourceSlot });
  }
  const at = graph.nodes.findIndex((n) => n.id === instance.id);
  return {
    ...graph,
    nodes: [...graph.nodes.slice(0, at), ...innerNodes, ...graph.nodes.slice(at + 1)],
    links: [...links.filter((l) => l.source !== instance.id && l.target !== instance.id), ...added],
    lastLinkId: nextLinkId - 1,
  };
}
