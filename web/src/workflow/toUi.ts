/**
 * Editor graph → UI workflow JSON, ComfyUI format 0.4 (link arrays), so ComfyUI opens our files.
 * Input slots follow the legacy layout: sockets in definition order, then converted widgets.
 */
import { defaultControlValue, nodeSockets, type NodeDefs, widgetInputs } from './nodeDefs';
import type { EditorGraph, EditorNode, UiInputSlot, UiLinkArray, UiNode, UiOutputSlot, UiWorkflow } from './types';

const DEFAULT_SIZE: [number, number] = [320, 120];

/** The `widgets_values` array of a node, in ComfyUI's order (control and upload slots included). */
export function widgetValuesOf(node: EditorNode, defs: NodeDefs): unknown[] | Record<string, unknown> {
  const def = defs[node.type];
  if (!def || node.raw) return node.raw ? structuredClone(node.raw.widgets_values) : [];
  const values: unknown[] = [];
  for (const w of widgetInputs(def)) {
    values.push(node.widgets[w.name]);
    if (w.control) values.push(node.controls[w.name] ?? defaultControlValue(w));
    if (w.upload) values.push('image');
  }
  return values;
}

function randomId(): string {
  const c = globalThis.crypto;
  if (c && 'randomUUID' in c) return c.randomUUID();
  return 'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(Math.random() * 16).toString(16));
}

/** Serializes the editor graph as a ComfyUI UI workflow (version 0.4). */
export function editorToUi(graph: EditorGraph, defs: NodeDefs): UiWorkflow {
  const slotIndex = new Map<string, number>(); // "<node>|<input key>" -> slot
  const outLinks = new Map<string, number[]>(); // "<node>|<slot>" -> link ids
  const socketsById = new Map(graph.nodes.map((n) => [n.id, nodeSockets(n, defs)]));
  for (const [id, s] of socketsById) s.inputs.forEach((inp, i) => slotIndex.set(`${id}|${inp.key}`, i));
  const links: UiLinkArray[] = [];
  for (const l of graph.links) {
    const slot = slotIndex.get(`${l.target}|${l.targetInput}`);
    if (slot === undefined) continue;
    links.push([l.id, numericId(l.source), l.sourceSlot, numericId(l.target), slot, l.type]);
    const key = `${l.source}|${l.sourceSlot}`;
    outLinks.set(key, [...(outLinks.get(key) ?? []), l.id]);
  }
  const linkInto = new Map(graph.links.map((l) => [`${l.target}|${l.targetInput}`, l.id]));
  const nodes: UiNode[] = graph.nodes.map((n, order) => {
    const sockets = socketsById.get(n.id)!;
    const inputs: UiInputSlot[] = sockets.inputs.map((s) => ({
      name: s.name,
      type: s.type,
      link: linkInto.get(`${n.id}|${s.key}`) ?? null,
      ...(s.widget ? { widget: { name: s.widget } } : {}),
    }));
    const outputs: UiOutputSlot[] = sockets.outputs.map((s, i) => ({
      name: s.name,
      type: s.type,
      links: outLinks.get(`${n.id}|${i}`) ?? [],
      slot_index: i,
      ...(n.raw?.outputs[i]?.widget ? { widget: n.raw.outputs[i].widget } : {}),
    }));
    const ui: UiNode = {
      id: numericId(n.id),
      type: n.type,
      pos: [n.pos[0], n.pos[1]],
      size: n.size ? [n.size[0], n.size[1]] : DEFAULT_SIZE,
      flags: n.flags ? { ...n.flags } : {},
      order,
      mode: n.mode,
      inputs,
      outputs,
      properties: { ...n.properties },
      widgets_values: widgetValuesOf(n, defs),
    };
    const displayName = defs[n.type]?.displayName ?? n.type;
    if (n.title !== displayName) ui.title = n.title;
    if (n.color) ui.color = n.color;
    if (n.bgcolor) ui.bgcolor = n.bgcolor;
    return ui;
  });
  return {
    ...structuredClone(graph.passthrough ?? {}),
    id: graph.workflowId ?? randomId(),
    revision: 0,
    last_node_id: graph.lastNodeId,
    last_link_id: graph.lastLinkId,
    nodes,
    links,
    groups: graph.groups.map((g) => ({
      id: g.id,
      title: g.title,
      bounding: [...g.bounding] as [number, number, number, number],
      color: g.color ?? '#3f789e',
      ...(g.font_size !== undefined ? { font_size: g.font_size } : {}),
      flags: {},
    })),
    config: graph.config ?? {},
    extra: { ...graph.extra },
    version: 0.4,
  };
}

function numericId(id: string): number | string {
  const n = Number(id);
  return Number.isInteger(n) && String(n) === id ? n : id;
}
