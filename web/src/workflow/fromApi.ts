/**
 * API-format prompt → editor graph (ComfyUI opens these too): widgets from literal inputs,
 * links from `[id, slot]` pairs, nodes laid out in columns by depth.
 */
import { defaultControlValue, defaultWidgetValue, type NodeDefs } from './nodeDefs';
import { WorkflowError, type LoadResult } from './fromUi';
import type { EditorLink, EditorNode } from './types';

const isLink = (v: unknown): v is [string | number, number] =>
  Array.isArray(v) && v.length === 2 && typeof v[1] === 'number' && (typeof v[0] === 'string' || typeof v[0] === 'number');

export function apiToEditor(prompt: unknown, defs: NodeDefs): LoadResult {
  if (!prompt || typeof prompt !== 'object' || Array.isArray(prompt))
    throw new WorkflowError('not a workflow: expected a UI workflow or an API-format prompt object');
  const entries = Object.entries(prompt as Record<string, unknown>);
  if (entries.length === 0) throw new WorkflowError('the prompt has no nodes');
  for (const [id, n] of entries) {
    const node = n as { class_type?: unknown; inputs?: unknown };
    if (!node || typeof node !== 'object' || typeof node.class_type !== 'string')
      throw new WorkflowError(`node "${id}": missing "class_type" (not a UI workflow or API prompt)`);
    if (node.inputs !== undefined && (typeof node.inputs !== 'object' || node.inputs === null))
      throw new WorkflowError(`node "${id}": "inputs" is not an object`);
  }
  const warnings: string[] = [];
  const idMap = new Map<string, string>();
  let next = Math.max(0, ...entries.map(([id]) => (/^\d+$/.test(id) ? Number(id) : 0)));
  for (const [id] of entries) idMap.set(id, /^\d+$/.test(id) ? String(Number(id)) : String(++next));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (seen.has(id)) return 0;
    seen.add(id);
    const inputs = ((prompt as Record<string, { inputs?: Record<string, unknown> }>)[id]?.inputs ?? {}) as Record<string, unknown>;
    let d = 0;
    for (const v of Object.values(inputs)) if (isLink(v) && idMap.has(String(v[0]))) d = Math.max(d, depthOf(String(v[0]), seen) + 1);
    depth.set(id, d);
    return d;
  };
  const rows = new Map<number, number>();
  const nodes: EditorNode[] = [];
  const links: EditorLink[] = [];
  for (const [rawId, n] of entries) {
    const { class_type, inputs = {}, _meta } = n as { class_type: string; inputs?: Record<string, unknown>; _meta?: { title?: string } };
    const def = defs[class_type];
    const id = idMap.get(rawId)!;
    const d = depthOf(rawId, new Set());
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    const node: EditorNode = {
      id,
      type: class_type,
      title: _meta?.title ?? def?.displayName ?? class_type,
      pos: [40 + d * 380, 40 + row * 260],
      mode: 0,
      widgets: {},
      controls: {},
      converted: [],
      properties: { 'Node name for S&R': class_type },
    };
    if (!def) node.raw = { inputs: [], outputs: [], widgets_values: [] };
    for (const input of def?.inputs ?? []) {
      if (!input.isWidget) continue;
      const v = inputs[input.name];
      const value = v && typeof v === 'object' && '__value__' in v ? (v as { __value__: unknown }).__value__ : v;
      node.widgets[input.name] = value === undefined || isLink(value) ? defaultWidgetValue(input) : value;
      if (input.control) node.controls[input.name] = 'fixed';
      if (isLink(value)) node.converted.push(input.name);
      else if (input.control && value === undefined) node.controls[input.name] = defaultControlValue(input);
    }
    for (const [name, v] of Object.entries(inputs)) {
      if (!isLink(v)) continue;
      const source = idMap.get(String(v[0]));
      if (!source) {
        warnings.push(`node "${rawId}" input "${name}": node "${v[0]}" does not exist, link dropped`);
        continue;
      }
      const sourceType = (prompt as Record<string, { class_type: string }>)[String(v[0])].class_type;
      let key = name;
      if (!def) {
        key = `#${node.raw!.inputs.length}`;
        node.raw!.inputs.push({ name, type: defs[sourceType]?.outputs[v[1]]?.type ?? '*' });
      } else if (!def.inputs.some((i) => i.name === name)) {
        warnings.push(`node "${rawId}" (${class_type}) has no input "${name}", link dropped`);
        continue;
      }
      links.push({
        id: links.length + 1,
        source,
        sourceSlot: v[1],
        target: id,
        targetInput: key,
        type: defs[sourceType]?.outputs[v[1]]?.type ?? '*',
      });
    }
    nodes.push(node);
  }
  // Missing source types: give them enough output slots for their links.
  for (const node of nodes) {
    if (!node.raw) continue;
    const used = links.filter((l) => l.source === node.id);
    const count = Math.max(0, ...used.map((l) => l.sourceSlot + 1));
    node.raw.outputs = Array.from({ length: count }, (_, i) => ({
      name: `out ${i}`,
      type: used.find((l) => l.sourceSlot === i)?.type ?? '*',
    }));
  }
  const missingTypes = [...new Set(nodes.filter((n) => !defs[n.type]).map((n) => n.type))];
  return {
    graph: { nodes, links, groups: [], lastNodeId: Math.max(0, ...nodes.map((n) => Number(n.id))), lastLinkId: links.length, extra: {} },
    warnings,
    missingTypes,
  };
}
