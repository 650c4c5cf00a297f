/**
 * Editing a subgraph definition on the canvas, as pure functions: the graph shown when an
 * instance is entered (its inner nodes with the boundary nodes as "Inputs"/"Outputs"), writing
 * the edited graph back into the definition (every instance follows: new inputs and outputs
 * are added to them), and promoting an inner widget to a subgraph input.
 */
import type { NodeDefs } from './nodeDefs';
import { definitionFromGraph, withDefinitions } from './subgraphCreate';
import { definitionGraph, INPUT_NODE, OUTPUT_NODE, subgraphDefinitions } from './subgraphFlatten';
import type { EditorGraph, EditorNode } from './types';

export interface EnteredGraph {
  inner: EditorGraph;
  definitionId: string;
  name: string;
}

/** The graph to show for instance `instanceId` of `outer`; the workflow's definitions travel with it. */
export function graphOfInstance(outer: EditorGraph, instanceId: string, defs: NodeDefs): EnteredGraph {
  const instance = outer.nodes.find((n) => n.id === instanceId);
  const def = instance && subgraphDefinitions(outer).get(instance.type);
  if (!instance || !def) throw new Error(`node ${instanceId} is not a subgraph instance`);
  const inner = definitionGraph(def, defs);
  const innerNodes = inner.nodes.filter((n) => n.id !== INPUT_NODE && n.id !== OUTPUT_NODE);
  const xs = innerNodes.map((n) => n.pos[0]);
  const ys = innerNodes.map((n) => n.pos[1]);
  const place = (n: EditorNode, bounding: unknown, x: number): EditorNode => {
    const b = Array.isArray(bounding) ? bounding.map(Number) : [];
    return { ...n, pos: b.length >= 2 && b.every(Number.isFinite) ? [b[0], b[1]] : [x, ys.length ? Math.min(...ys) : 0] };
  };
  const nodes = inner.nodes.map((n) =>
    n.id === INPUT_NODE
      ? place({ ...n, title: 'Inputs' }, def.inputNode?.bounding, (xs.length ? Math.min(...xs) : 0) - 220)
      : n.id === OUTPUT_NODE
        ? place({ ...n, title: 'Outputs' }, def.outputNode?.bounding, (xs.length ? Math.max(...xs) : 0) + 400)
        : n,
  );
  const state = (def.state ?? {}) as { lastNodeId?: number; lastLinkId?: number };
  return {
    inner: {
      ...inner,
      nodes,
      lastNodeId: Math.max(inner.lastNodeId, Number(state.lastNodeId) || 0),
      lastLinkId: Math.max(inner.lastLinkId, Number(state.lastLinkId) || 0),
      passthrough: outer.passthrough?.definitions ? { definitions: outer.passthrough.definitions } : undefined,
    },
    definitionId: def.id,
    name: def.name ?? def.id,
  };
}

/**
 * `outer` with definition `definitionId` replaced by the edited `inner` graph. Instances gain the
 * inputs and outputs the definition gained; an input that feeds an inner widget comes with that
 * widget's value (the instance's promoted value).
 */
export function writeBackDefinition(outer: EditorGraph, definitionId: string, inner: EditorGraph, defs: NodeDefs): EditorGraph {
  // Nested definitions edited one level down come back with the inner graph's definitions.
  const base = {
    ...outer,
    passthrough: {
      ...(outer.passthrough ?? {}),
      ...(inner.passthrough?.definitions ? { definitions: inner.passthrough.definitions } : {}),
    },
  };
  const all = [...subgraphDefinitions(base).values()];
  const old = all.find((d) => d.id === definitionId);
  if (!old) throw new Error(`subgraph ${definitionId} is not in the workflow`);
  const updated = definitionFromGraph(old, inner, defs);
  const innerById = new Map(inner.nodes.map((n) => [n.id, n]));
  const widgetValue = (slot: number) => {
    const link = inner.links.find((l) => l.source === INPUT_NODE && l.sourceSlot === slot);
    const target = link && innerById.get(link.target);
    const input = target && !target.raw ? defs[target.type]?.inputs.find((i) => i.name === link.targetInput) : undefined;
    return input?.isWidget ? { name: input.name, value: target!.widgets[input.name] } : undefined;
  };
  const nodes = base.nodes.map((n) => {
    if (n.type !== definitionId || !n.raw) return n;
    const inputs = [...n.raw.inputs];
    let values = n.raw.widgets_values;
    (updated.inputs ?? []).forEach((io, i) => {
      if (inputs.some((s) => s.name === io.name)) return;
      const widget = widgetValue(i);
      inputs.push({ name: io.name, type: io.type, ...(widget ? { widget: { name: io.name } } : {}) });
      if (widget && Array.isArray(values)) values = [...values, widget.value];
    });
    const outputs = (updated.outputs ?? []).map((o, j) => ({ ...(n.raw!.outputs[j] ?? {}), name: o.name, type: o.type }));
    return { ...n, raw: { ...n.raw, inputs, outputs, widgets_values: values } };
  });
  return withDefinitions(
    { ...base, nodes },
    all.map((d) => (d.id === definitionId ? updated : d)),
  );
}

/** Inside a definition: turns widget `widget` of node `nodeId` into a new subgraph input feeding it. */
export function promoteWidget(inner: EditorGraph, nodeId: string, widget: string, defs: NodeDefs): EditorGraph {
  const node = inner.nodes.find((n) => n.id === nodeId);
  const boundary = inner.nodes.find((n) => n.id === INPUT_NODE);
  const input = node && !node.raw ? defs[node.type]?.inputs.find((i) => i.name === widget && i.isWidget) : undefined;
  if (!node || !boundary?.raw || !input) throw new Error(`node ${nodeId} has no widget "${widget}" to promote`);
  const taken = new Set(boundary.raw.outputs.map((o) => o.name));
  let name = widget;
  for (let i = 2; taken.has(name); i++) name = `${widget}_${i}`;
  const slot = boundary.raw.outputs.length;
  const linkId = inner.lastLinkId + 1;
  const nodes = inner.nodes.map((n) =>
    n === boundary
      ? { ...n, raw: { ...n.raw!, outputs: [...n.raw!.outputs, { name, type: input.type }] } }
      : n === node
        ? { ...n, converted: n.converted.includes(widget) ? n.converted : [...n.converted, widget] }
        : n,
  );
  const links = [
    ...inner.links.filter((l) => !(l.target === nodeId && l.targetInput === widget)),
    { id: linkId, source: INPUT_NODE, sourceSlot: slot, target: nodeId, targetInput: widget, type: input.type },
  ];
  return { ...inner, nodes, links, lastLinkId: linkId };
}
