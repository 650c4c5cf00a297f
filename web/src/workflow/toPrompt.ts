/**
 * Editor graph → API prompt, as ComfyUI's graphToPrompt does it: virtual nodes are resolved
 * (Reroute followed, PrimitiveNode gives its value), muted nodes (mode 2) are dropped with the
 * inputs that point at them, bypassed nodes (mode 4) pass an input of the matching type through.
 */
import type { ApiPrompt } from '../api/types';
import { nodeSockets, type NodeDefs, VIRTUAL_TYPES, widgetInputs } from './nodeDefs';
import { typesCompatible } from './typeCompat';
import { type EditorGraph, type EditorLink, type EditorNode, MODE_BYPASS, MODE_NEVER } from './types';

type Resolved = { link: [string, number] } | { value: unknown } | null;

class Resolver {
  private readonly nodes: Map<string, EditorNode>;
  private readonly into: Map<string, EditorLink>;

  constructor(
    graph: EditorGraph,
    private readonly defs: NodeDefs,
  ) {
    this.nodes = new Map(graph.nodes.map((n) => [n.id, n]));
    this.into = new Map(graph.links.map((l) => [`${l.target}|${l.targetInput}`, l]));
  }

  /** Where the value of `link` really comes from, after skipping virtual/bypassed nodes. */
  resolve(link: EditorLink, seen = new Set<string>()): Resolved {
    const source = this.nodes.get(link.source);
    if (!source || source.mode === MODE_NEVER || seen.has(source.id)) return null;
    if (source.type === 'Reroute') {
      const upstream = this.into.get(`${source.id}|#0`);
      return upstream ? this.resolve(upstream, new Set(seen).add(source.id)) : null;
    }
    if (source.type === 'PrimitiveNode') {
      const values = source.raw?.widgets_values;
      return Array.isArray(values) && values.length > 0 ? { value: values[0] } : null;
    }
    if (VIRTUAL_TYPES.has(source.type)) return null;
    if (source.mode === MODE_BYPASS) return this.bypass(source, link.sourceSlot, new Set(seen).add(source.id));
    return { link: [source.id, link.sourceSlot] };
  }

  private bypass(node: EditorNode, slot: number, seen: Set<string>): Resolved {
    const { inputs, outputs } = nodeSockets(node, this.defs);
    const outType = outputs[slot]?.type ?? '*';
    const linked = (i: number) => this.into.get(`${node.id}|${inputs[i].key}`);
    const candidates: number[] = [];
    if (slot < inputs.length && typesCompatible(inputs[slot].type, outType)) candidates.push(slot);
    inputs.forEach((s, i) => {
      if (i !== slot && s.type === outType) candidates.push(i);
    });
    for (const i of candidates) {
      const upstream = linked(i);
      if (upstream) return this.resolve(upstream, seen);
    }
    return null;
  }
}

/** True for nodes that become entries of the API prompt. */
function isExecutable(node: EditorNode): boolean {
  return !VIRTUAL_TYPES.has(node.type) && node.mode !== MODE_NEVER && node.mode !== MODE_BYPASS;
}

/** Builds the API-format prompt for POST /prompt. */
export function editorToPrompt(graph: EditorGraph, defs: NodeDefs): ApiPrompt {
  const resolver = new Resolver(graph, defs);
  const linksInto = new Map<string, EditorLink[]>();
  for (const l of graph.links) linksInto.set(l.target, [...(linksInto.get(l.target) ?? []), l]);
  const prompt: ApiPrompt = {};
  for (const node of graph.nodes) {
    if (!isExecutable(node)) continue;
    const inputs: Record<string, unknown> = {};
    const def = node.raw ? undefined : defs[node.type];
    if (def) {
      for (const w of widgetInputs(def)) {
        const value = node.widgets[w.name];
        if (value === undefined) continue;
        inputs[w.name] = Array.isArray(value) ? { __value__: value } : value;
      }
    }
    const sockets = nodeSockets(node, defs).inputs;
    for (const link of linksInto.get(node.id) ?? []) {
      const socket = sockets.find((s) => s.key === link.targetInput);
      if (!socket) continue;
      const name = socket.widget ?? socket.name;
      const resolved = resolver.resolve(link);
      if (resolved === null) delete inputs[name];
      else if ('link' in resolved) inputs[name] = resolved.link;
      else inputs[name] = resolved.value;
    }
    prompt[node.id] = { inputs, class_type: node.type, _meta: { title: node.title } };
  }
  return prompt;
}
