/**
 * UI workflow JSON (ComfyUI 0.4 with link arrays, or version 1 with link objects) → editor graph.
 * The file is untrusted: structural problems throw a WorkflowError naming where; fixable
 * oddities (a link to a missing node, an unknown input) are dropped and listed in `warnings`.
 */
import {
  CONTROL_VALUES,
  defaultControlValue,
  defaultWidgetValue,
  type NodeDef,
  type NodeDefs,
  VIRTUAL_TYPES,
  widgetInputs,
} from './nodeDefs';
import type { EditorGraph, EditorGroup, EditorLink, EditorNode, UiLinkObject, UiNode, UiWorkflow } from './types';

export class WorkflowError extends Error {}

export interface LoadResult {
  graph: EditorGraph;
  warnings: string[];
  /** Node types that object_info does not know (shown, marked missing). */
  missingTypes: string[];
}

function pair(value: unknown, where: string, fallback?: [number, number]): [number, number] {
  if (value && typeof value === 'object') {
    const v = value as Record<number, unknown>;
    const x = Number(v[0]);
    const y = Number(v[1]);
    if (Number.isFinite(x) && Number.isFinite(y)) return [x, y];
  }
  if (fallback) return fallback;
  throw new WorkflowError(`${where}: expected [x, y], got ${JSON.stringify(value)}`);
}

/** Maps a `widgets_values` array (or object) onto the named widgets of a definition. */
export function readWidgetValues(
  def: NodeDef,
  values: unknown[] | Record<string, unknown> | undefined,
): { widgets: Record<string, unknown>; controls: Record<string, string> } {
  const widgets: Record<string, unknown> = {};
  const controls: Record<string, string> = {};
  const list = Array.isArray(values) ? values : undefined;
  const byName = !Array.isArray(values) && values && typeof values === 'object' ? values : undefined;
  let i = 0;
  for (const w of widgetInputs(def)) {
    if (byName) {
      widgets[w.name] = w.name in byName ? byName[w.name] : defaultWidgetValue(w);
      if (w.control) controls[w.name] = defaultControlValue(w);
      continue;
    }
    widgets[w.name] = list && i < list.length ? list[i++] : defaultWidgetValue(w);
    if (w.control) {
      const c = list?.[i];
      if (typeof c === 'string' && (CONTROL_VALUES as readonly string[]).includes(c)) {
        controls[w.name] = c;
        i++;
      } else if (typeof c === 'boolean') {
        controls[w.name] = c ? 'randomize' : 'fixed';
        i++;
      } else {
        controls[w.name] = list ? 'fixed' : defaultControlValue(w);
      }
    }
    if (w.upload && list?.[i] === 'image') i++;
  }
  return { widgets, controls };
}

function readNode(n: UiNode, index: number, defs: NodeDefs): EditorNode {
  const where = `nodes[${index}]`;
  if (!n || typeof n !== 'object') throw new WorkflowError(`${where}: not an object`);
  if (typeof n.id !== 'number' && typeof n.id !== 'string') throw new WorkflowError(`${where}: missing "id"`);
  if (typeof n.type !== 'string' || !n.type) throw new WorkflowError(`${where} (id ${n.id}): missing "type"`);
  const def = VIRTUAL_TYPES.has(n.type) ? undefined : defs[n.type];
  const node: EditorNode = {
    id: String(n.id),
    type: n.type,
    title: typeof n.title === 'string' ? n.title : (def?.displayName ?? n.type),
    pos: pair(n.pos, `${where}.pos`, [0, 0]),
    size: n.size ? pair(n.size, `${where}.size`, undefined) : undefined,
    mode: typeof n.mode === 'number' ? n.mode : 0,
    widgets: {},
    controls: {},
    converted: [],
    properties: n.properties && typeof n.properties === 'object' ? { ...n.properties } : {},
  };
  if (n.flags && typeof n.flags === 'object') node.flags = { ...n.flags };
  if (typeof n.color === 'string') node.color = n.color;
  if (typeof n.bgcolor === 'string') node.bgcolor = n.bgcolor;
  if (def) {
    Object.assign(node, readWidgetValues(def, n.widgets_values));
  } else {
    const slots = <T extends { name?: unknown; type?: unknown; widget?: { name: string } }>(list: T[] | undefined) =>
      (Array.isArray(list) ? list : []).map((s) => ({
        name: String(s?.name ?? ''),
        type: String(s?.type ?? '*'),
        ...(s?.widget ? { widget: { name: String(s.widget.name) } } : {}),
      }));
    node.raw = {
      inputs: slots(n.inputs),
      outputs: slots(n.outputs),
      widgets_values: Array.isArray(n.widgets_values)
        ? [...n.widgets_values]
        : n.widgets_values && typeof n.widgets_values === 'object'
          ? { ...n.widgets_values }
          : [],
    };
  }
  return node;
}

function readLink(raw: unknown, index: number): UiLinkObject {
  if (Array.isArray(raw)) {
    if (raw.length < 5) throw new WorkflowError(`links[${index}]: expected 6 entries, got ${raw.length}`);
    const [id, origin_id, origin_slot, target_id, target_slot, type] = raw;
    return {
      id: Number(id),
      origin_id,
      origin_slot: Number(origin_slot),
      target_id,
      target_slot: Number(target_slot),
      type: String(type ?? '*'),
    };
  }
  if (raw && typeof raw === 'object' && 'origin_id' in raw && 'target_id' in raw) {
    const l = raw as UiLinkObject;
    return { ...l, id: Number(l.id), origin_slot: Number(l.origin_slot), target_slot: Number(l.target_slot), type: String(l.type ?? '*') };
  }
  throw new WorkflowError(`links[${index}]: not a link array or link object`);
}

function readGroups(groups: unknown, warnings: string[]): EditorGroup[] {
  if (!Array.isArray(groups)) return [];
  const out: EditorGroup[] = [];
  groups.forEach((g, i) => {
    const b = g?.bounding;
    if (!Array.isArray(b) || b.length < 4 || !b.slice(0, 4).every((v: unknown) => Number.isFinite(Number(v)))) {
      warnings.push(`groups[${i}]: bad "bounding", group dropped`);
      return;
    }
    out.push({
      id: typeof g.id === 'number' ? g.id : i + 1,
      title: typeof g.title === 'string' ? g.title : 'Group',
      bounding: [Number(b[0]), Number(b[1]), Number(b[2]), Number(b[3])],
      ...(typeof g.color === 'string' ? { color: g.color } : {}),
      ...(typeof g.font_size === 'number' ? { font_size: g.font_size } : {}),
    });
  });
  return out;
}

/** Target input key of a link: the input's name for defined nodes, "#slot" for raw ones. */
function targetInputKey(target: EditorNode, uiNode: UiNode, slot: number, def: NodeDef | undefined): string | null {
  if (!def || target.raw) return slot >= 0 && slot < (target.raw?.inputs.length ?? 0) ? `#${slot}` : null;
  const uiSlot = uiNode.inputs?.[slot];
  if (!uiSlot) return null;
  const name = uiSlot.widget?.name ?? uiSlot.name;
  const input = def.inputs.find((i) => i.name === name);
  if (!input) return null;
  if (input.isWidget && !target.converted.includes(name)) target.converted.push(name);
  return name;
}

/** Top-level keys the editor rebuilds on save; every other key is written back as read. */
const OWN_KEYS = new Set([
  'id',
  'revision',
  'last_node_id',
  'last_link_id',
  'state',
  'nodes',
  'links',
  'groups',
  'config',
  'extra',
  'version',
]);

/** Subgraph definition id → name (ComfyUI's `definitions.subgraphs`, nested lists included). */
function subgraphNames(wf: UiWorkflow): Map<string, string> {
  type Def = { id?: unknown; name?: unknown; definitions?: { subgraphs?: Def[] } };
  const names = new Map<string, string>();
  const pending: Def[] = [...((wf.definitions as Def['definitions'])?.subgraphs ?? [])];
  while (pending.length) {
    const d = pending.shift();
    if (typeof d?.id !== 'string' || names.has(d.id)) continue;
    names.set(d.id, typeof d.name === 'string' ? d.name : d.id);
    if (Array.isArray(d.definitions?.subgraphs)) pending.push(...d.definitions.subgraphs);
  }
  return names;
}

/** Reads a UI workflow. Throws WorkflowError on a structurally broken file. */
export function uiToEditor(workflow: unknown, defs: NodeDefs): LoadResult {
  if (!workflow || typeof workflow !== 'object') throw new WorkflowError('workflow: not a JSON object');
  const wf = workflow as UiWorkflow;
  if (!Array.isArray(wf.nodes)) throw new WorkflowError('workflow: "nodes" is not a list (is this an API-format prompt?)');
  if (wf.links !== undefined && !Array.isArray(wf.links)) throw new WorkflowError('workflow: "links" is not a list');
  const warnings: string[] = [];
  const nodes: EditorNode[] = [];
  const uiById = new Map<string, UiNode>();
  wf.nodes.forEach((n, i) => {
    const node = readNode(n, i, defs);
    if (uiById.has(node.id)) {
      warnings.push(`nodes[${i}]: duplicate id ${node.id}, node dropped`);
      return;
    }
    uiById.set(node.id, n);
    nodes.push(node);
  });
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const links: EditorLink[] = [];
  (wf.links ?? []).forEach((raw, i) => {
    if (raw === null) return;
    const l = readLink(raw, i);
    const source = byId.get(String(l.origin_id));
    const target = byId.get(String(l.target_id));
    if (!source || !target) {
      warnings.push(`link ${l.id}: node ${source ? l.target_id : l.origin_id} does not exist, link dropped`);
      return;
    }
    const def = target.raw ? undefined : defs[target.type];
    const key = targetInputKey(target, uiById.get(target.id)!, l.target_slot, def);
    if (key === null) {
      warnings.push(`link ${l.id}: node ${target.id} (${target.type}) has no input slot ${l.target_slot}, link dropped`);
      return;
    }
    const sourceDef = source.raw ? undefined : defs[source.type];
    const outCount = sourceDef ? sourceDef.outputs.length : (source.raw?.outputs.length ?? 0);
    if (l.origin_slot < 0 || l.origin_slot >= outCount) {
      warnings.push(`link ${l.id}: node ${source.id} (${source.type}) has no output slot ${l.origin_slot}, link dropped`);
      return;
    }
    const dup = links.findIndex((x) => x.target === target.id && x.targetInput === key);
    if (dup >= 0) {
      warnings.push(`link ${l.id}: input "${key}" of node ${target.id} already linked, older link replaced`);
      links.splice(dup, 1);
    }
    links.push({ id: l.id, source: source.id, sourceSlot: l.origin_slot, target: target.id, targetInput: key, type: l.type });
  });
  const numericIds = nodes.map((n) => Number(n.id)).filter(Number.isFinite);
  const lastNodeId = Math.max(0, Number(wf.last_node_id ?? wf.state?.lastNodeId ?? 0) || 0, ...numericIds);
  const lastLinkId = Math.max(0, Number(wf.last_link_id ?? wf.state?.lastLinkId ?? 0) || 0, ...links.map((l) => l.id));
  const subgraphs = subgraphNames(wf);
  const known = (type: string) => defs[type] || VIRTUAL_TYPES.has(type) || subgraphs.has(type);
  const missingTypes = [...new Set(nodes.filter((n) => !known(n.type)).map((n) => n.type))];
  const passthrough = Object.fromEntries(Object.entries(wf).filter(([k]) => !OWN_KEYS.has(k)));
  for (const n of nodes) {
    const name = subgraphs.get(n.type);
    if (name !== undefined && !uiById.get(n.id)?.title) n.title = name;
  }
  return {
    graph: {
      nodes,
      links,
      groups: readGroups(wf.groups, warnings),
      lastNodeId,
      lastLinkId,
      extra: wf.extra && typeof wf.extra === 'object' ? { ...wf.extra } : {},
      ...(typeof wf.id === 'string' ? { workflowId: wf.id } : {}),
      ...(wf.config && typeof wf.config === 'object' ? { config: { ...wf.config } } : {}),
      ...(Object.keys(passthrough).length ? { passthrough } : {}),
    },
    warnings,
    missingTypes,
  };
}
