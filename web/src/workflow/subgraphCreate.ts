/**
 * "Convert to Subgraph" and "Unpack Subgraph", as pure functions on the editor graph.
 *
 * Converting moves the selected nodes into a new `definitions.subgraphs[]` entry (ComfyUI's
 * format: boundary input node -10, output node -20). Links entering the selection become
 * subgraph inputs (one per outside output, named after the inner input slot), links leaving it
 * become outputs (one per inner output, named after that output); an instance node takes the
 * selection's place at its centre. Unpacking puts a definition's nodes back in place of an
 * instance (ids kept where free), rewires the boundary links and applies promoted values.
 * Groups travel both ways (subgraphGroups.ts).
 */
import { nodeSockets, type NodeDefs } from './nodeDefs';
import {
  definitionGraph,
  expandInstance,
  INPUT_NODE,
  instanceInputSlots,
  OUTPUT_NODE,
  promotedValues,
  SUBGRAPH_INPUT_ID,
  SUBGRAPH_OUTPUT_ID,
  subgraphDefinitions,
  type UiSubgraphDefinition,
} from './subgraphFlatten';
import { groupsToMove, nodesInGroups, placeGroups } from './subgraphGroups';
import { editorToUi } from './toUi';
import type { EditorGraph, EditorLink, EditorNode, UiLinkArray, UiLinkObject } from './types';

const DEFAULT_SIZE: [number, number] = [320, 120];
/** Half the size the instance node is drawn at, so that it sits on the selection's centre. */
const INSTANCE_HALF: [number, number] = [100, 40];

function uuid(): string {
  const c = globalThis.crypto;
  if (c && 'randomUUID' in c) return c.randomUUID();
  return 'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(Math.random() * 16).toString(16));
}

function centre(nodes: EditorNode[]): [number, number] {
  const xs = nodes.flatMap((n) => [n.pos[0], n.pos[0] + (n.size ?? DEFAULT_SIZE)[0]]);
  const ys = nodes.flatMap((n) => [n.pos[1], n.pos[1] + (n.size ?? DEFAULT_SIZE)[1]]);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name || 'input';
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}_${i}`;
  taken.add(candidate);
  return candidate;
}

/** All definitions, each written once, as the `definitions` passthrough key holds them. */
export function withDefinitions(graph: EditorGraph, list: UiSubgraphDefinition[]): EditorGraph {
  const passthrough = { ...(graph.passthrough ?? {}) };
  const definitions = { ...((passthrough.definitions as Record<string, unknown> | undefined) ?? {}) };
  if (list.length) passthrough.definitions = { ...definitions, subgraphs: list };
  else {
    delete definitions.subgraphs;
    if (Object.keys(definitions).length) passthrough.definitions = definitions;
    else delete passthrough.definitions;
  }
  return { ...graph, passthrough };
}

/**
 * A definition holding `inner` (an editor graph with the boundary nodes "-10" and "-20"): its
 * nodes and link objects, inputs from the input node's outputs and outputs from the output
 * node's inputs (ids kept from `base` by position), the boundary nodes' places; other keys of `base` kept.
 */
export function definitionFromGraph(base: UiSubgraphDefinition, inner: EditorGraph, defs: NodeDefs): UiSubgraphDefinition {
  const ui = editorToUi({ ...inner, passthrough: undefined }, defs);
  const links: UiLinkObject[] = (ui.links as UiLinkArray[]).map(([id, origin_id, origin_slot, target_id, target_slot, type]) => ({
    id,
    origin_id,
    origin_slot,
    target_id,
    target_slot,
    type,
  }));
  const inputNode = inner.nodes.find((n) => n.id === INPUT_NODE);
  const outputNode = inner.nodes.find((n) => n.id === OUTPUT_NODE);
  const slotsOf = (
    list: { name: string; type: string }[] | undefined,
    old: UiSubgraphDefinition['inputs'],
    linkIds: (i: number) => number[],
  ) => (list ?? []).map((s, i) => ({ ...(old?.[i] ?? {}), id: old?.[i]?.id ?? uuid(), name: s.name, type: s.type, linkIds: linkIds(i) }));
  const place = (n: EditorNode | undefined, fallback: UiSubgraphDefinition['inputNode'], id: number) => ({
    id,
    bounding: n ? [n.pos[0], n.pos[1], 120, 80] : (fallback?.bounding ?? [0, 0, 120, 80]),
  });
  const ids = ui.nodes.map((n) => Number(n.id)).filter(Number.isFinite);
  return {
    version: 1,
    revision: 0,
    config: {},
    widgets: [],
    extra: {},
    ...base,
    groups: ui.groups ?? [],
    state: {
      lastGroupId: Math.max(0, ...inner.groups.map((g) => g.id)),
      lastRerouteId: 0,
      lastNodeId: Math.max(inner.lastNodeId, ...ids),
      lastLinkId: Math.max(inner.lastLinkId, ...links.map((l) => l.id)),
    },
    inputNode: place(inputNode, base.inputNode, SUBGRAPH_INPUT_ID),
    outputNode: place(outputNode, base.outputNode, SUBGRAPH_OUTPUT_ID),
    inputs: slotsOf(inputNode?.raw?.outputs ?? base.inputs, base.inputs, (i) =>
      links.filter((l) => l.origin_id === SUBGRAPH_INPUT_ID && l.origin_slot === i).map((l) => l.id),
    ),
    outputs: slotsOf(outputNode?.raw?.inputs ?? base.outputs, base.outputs, (j) =>
      links.filter((l) => l.target_id === SUBGRAPH_OUTPUT_ID && l.target_slot === j).map((l) => l.id),
    ),
    nodes: ui.nodes.filter((n) => n.id !== SUBGRAPH_INPUT_ID && n.id !== SUBGRAPH_OUTPUT_ID),
    links,
  };
}

export interface ConvertResult {
  graph: EditorGraph;
  instanceId: string;
  definitionId: string;
}

/**
 * Moves the nodes `ids` into a new subgraph definition and puts an instance in their place. The
 * groups that go with them (subgraphGroups.ts; `groupIds` are selected groups) move along; with
 * no nodes given, the nodes inside the selected groups are converted.
 */
export function convertToSubgraph(
  graph: EditorGraph,
  ids: string[],
  defs: NodeDefs,
  name = 'New Subgraph',
  groupIds: number[] = [],
): ConvertResult {
  const chosen = ids.length ? ids : nodesInGroups(graph, groupIds);
  const selected = new Set(chosen.filter((id) => graph.nodes.some((n) => n.id === id)));
  if (selected.size === 0) throw new Error('select the nodes to put into the subgraph');
  const inside = graph.nodes.filter((n) => selected.has(n.id));
  const movedGroups = groupsToMove(graph, selected, groupIds);
  const nodeById = new Map(graph.nodes.map((n) => [n.id, n]));
  const internal = graph.links.filter((l) => selected.has(l.source) && selected.has(l.target));
  const incoming = graph.links.filter((l) => !selected.has(l.source) && selected.has(l.target));
  const outgoing = graph.links.filter((l) => selected.has(l.source) && !selected.has(l.target));

  const group = (list: EditorLink[]) => {
    const groups = new Map<string, EditorLink[]>();
    for (const l of list) groups.set(`${l.source}|${l.sourceSlot}`, [...(groups.get(`${l.source}|${l.sourceSlot}`) ?? []), l]);
    return [...groups.values()];
  };
  const inGroups = group(incoming);
  const outGroups = group(outgoing);
  const inNames = new Set<string>();
  const outNames = new Set<string>();
  const inputs = inGroups.map((g) => {
    const target = nodeById.get(g[0].target)!;
    const socket = nodeSockets(target, defs).inputs.find((s) => s.key === g[0].targetInput);
    return { name: uniqueName(socket?.widget ?? socket?.name ?? g[0].type, inNames), type: g[0].type };
  });
  const outputs = outGroups.map((g) => {
    const socket = nodeSockets(nodeById.get(g[0].source)!, defs).outputs[g[0].sourceSlot];
    return { name: uniqueName(socket?.name ?? g[0].type, outNames), type: g[0].type };
  });

  // The definition's graph, with the boundary nodes as raw nodes so editorToUi numbers the slots.
  const boundary = (id: string, raw: EditorNode['raw']): EditorNode => ({
    id,
    type: id,
    title: id,
    pos: [0, 0],
    mode: 0,
    widgets: {},
    controls: {},
    converted: [],
    properties: {},
    raw,
  });
  const io = (list: { name: string; type: string }[]) => list.map(({ name, type }) => ({ name, type }));
  const innerLinks: EditorLink[] = [
    ...internal,
    ...inGroups.flatMap((g, i) => g.map((l) => ({ ...l, source: INPUT_NODE, sourceSlot: i }))),
    ...outGroups.map((g, j) => ({ ...g[0], target: OUTPUT_NODE, targetInput: `#${j}` })),
  ];
  const innerGraph: EditorGraph = {
    nodes: [
      ...inside,
      boundary(INPUT_NODE, { inputs: [], outputs: io(inputs), widgets_values: [] }),
      boundary(OUTPUT_NODE, { inputs: io(outputs), outputs: [], widgets_values: [] }),
    ],
    links: innerLinks,
    groups: movedGroups,
    lastNodeId: graph.lastNodeId,
    lastLinkId: graph.lastLinkId,
    extra: {},
  };
  const [cx, cy] = centre(inside);
  const xs = inside.map((n) => n.pos[0]);
  innerGraph.nodes.find((n) => n.id === INPUT_NODE)!.pos = [Math.min(...xs) - 220, cy - 40];
  innerGraph.nodes.find((n) => n.id === OUTPUT_NODE)!.pos = [Math.max(...xs) + 400, cy - 40];
  const definitionId = uuid();
  const definition = definitionFromGraph({ id: definitionId, name, nodes: [], links: [] }, innerGraph, defs);

  const instanceId = String(graph.lastNodeId + 1);
  const instance: EditorNode = {
    id: instanceId,
    type: definitionId,
    title: name,
    pos: [cx - INSTANCE_HALF[0], cy - INSTANCE_HALF[1]],
    mode: 0,
    widgets: {},
    controls: {},
    converted: [],
    properties: {},
    raw: { inputs: io(inputs), outputs: io(outputs), widgets_values: [] },
  };
  const crossing = new Set([...internal, ...incoming, ...outgoing]);
  const outerLinks: EditorLink[] = [
    ...graph.links.filter((l) => !crossing.has(l)),
    ...inGroups.map((g, i) => ({ ...g[0], target: instanceId, targetInput: `#${i}` })),
    ...outGroups.flatMap((g, j) => g.map((l) => ({ ...l, source: instanceId, sourceSlot: j }))),
  ];
  const at = graph.nodes.findIndex((n) => selected.has(n.id));
  const nodes = graph.nodes.filter((n) => !selected.has(n.id));
  nodes.splice(at, 0, instance);
  const groups = graph.groups.filter((g) => !movedGroups.includes(g));
  const next = { ...graph, nodes, links: outerLinks, groups, lastNodeId: graph.lastNodeId + 1 };
  return { graph: withDefinitions(next, [...subgraphDefinitions(graph).values(), definition]), instanceId, definitionId };
}

/** True when some node of the graph or of another definition is an instance of `definitionId`. */
function definitionInUse(graph: EditorGraph, definitionId: string): boolean {
  if (graph.nodes.some((n) => n.type === definitionId)) return true;
  return [...subgraphDefinitions(graph).values()].some((d) => d.id !== definitionId && d.nodes?.some((n) => n.type === definitionId));
}

/** Replaces a subgraph instance by its definition's nodes; drops the definition once nothing uses it. */
export function unpackSubgraph(graph: EditorGraph, instanceId: string, defs: NodeDefs): EditorGraph {
  const instance = graph.nodes.find((n) => n.id === instanceId);
  const def = instance && subgraphDefinitions(graph).get(instance.type);
  if (!instance || !def) throw new Error(`node ${instanceId} is not a subgraph instance`);
  const inner = definitionGraph(def, defs);
  const promoted = promotedValues(instance, def, inner, instanceInputSlots(instance, def), defs);
  const used = new Set(graph.nodes.map((n) => n.id));
  let lastNodeId = graph.lastNodeId;
  const newIds = new Map<string, string>();
  for (const n of inner.nodes) {
    if (n.id === INPUT_NODE || n.id === OUTPUT_NODE) continue;
    const id = used.has(n.id) ? String(++lastNodeId) : n.id;
    used.add(id);
    newIds.set(n.id, id);
    if (Number.isInteger(Number(id))) lastNodeId = Math.max(lastNodeId, Number(id));
  }
  const placed = inner.nodes.filter((n) => newIds.has(n.id));
  const [cx, cy] = placed.length ? centre(placed) : [0, 0];
  const dx = instance.pos[0] + INSTANCE_HALF[0] - cx;
  const dy = instance.pos[1] + INSTANCE_HALF[1] - cy;
  const expanded = expandInstance(graph, instance, def, inner, promoted, (id) => newIds.get(id) ?? id);
  const moved = new Set(newIds.values());
  const nodes = expanded.nodes.map((n) => (moved.has(n.id) ? { ...n, pos: [n.pos[0] + dx, n.pos[1] + dy] as [number, number] } : n));
  const groups = [...expanded.groups, ...placeGroups(expanded, inner.groups, dx, dy)];
  const result = { ...expanded, nodes, groups, lastNodeId };
  if (definitionInUse(result, def.id)) return result;
  return withDefinitions(
    result,
    [...subgraphDefinitions(graph).values()].filter((d) => d.id !== def.id),
  );
}
