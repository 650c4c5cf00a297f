/**
 * Un-promoting a widget from a subgraph instance (ComfyUI: "Un-Promote Widget"): the subgraph
 * input that fed the inner widget is removed from the definition, the inner widget is a widget
 * again and takes the value the instance showed, and every instance of the definition loses that
 * input (its saved value, and the links into it; later inputs move up a slot).
 */
import { CONTROL_VALUES, type NodeDefs } from './nodeDefs';
import { definitionFromGraph, withDefinitions } from './subgraphCreate';
import { graphOfInstance } from './subgraphEdit';
import { INPUT_NODE, instanceInputSlots, promotedLayout, subgraphDefinitions, type UiSubgraphDefinition } from './subgraphFlatten';
import { instanceDefinition, promotedWidgets } from './subgraphWidgets';
import type { EditorGraph, EditorLink, EditorNode } from './types';

/** As promotedLayout reads them: a control_after_generate value saved after its widget's. */
const isControl = (v: unknown) => typeof v === 'boolean' || (CONTROL_VALUES as readonly unknown[]).includes(v);

/** `instance` without the input and saved value of definition input `index`. */
function withoutInput(instance: EditorNode, def: UiSubgraphDefinition, inner: EditorGraph, defs: NodeDefs, index: number): EditorNode {
  if (!instance.raw) return instance;
  const slots = instanceInputSlots(instance, def);
  const { promoted, positions } = promotedLayout(instance, def, inner, slots, defs);
  const at = positions.get(index);
  let values = instance.raw.widgets_values;
  if (typeof at === 'string' && !Array.isArray(values)) {
    values = { ...values };
    delete values[at];
  } else if (typeof at === 'number' && Array.isArray(values)) {
    const withControl = values.length > promoted.length && isControl(values[at + 1]);
    values = values.filter((_, i) => i !== at && !(withControl && i === at + 1));
  }
  const slot = slots[index];
  const inputs = slot === undefined ? instance.raw.inputs : instance.raw.inputs.filter((_, i) => i !== slot);
  return { ...instance, raw: { ...instance.raw, inputs, widgets_values: values } };
}

/** The links into instance `id` with input slot `slot` gone and the later slots one lower. */
function shiftInstanceLinks(links: EditorLink[], id: string, slot: number | undefined): EditorLink[] {
  if (slot === undefined) return links;
  return links.flatMap((l) => {
    if (l.target !== id || !l.targetInput.startsWith('#')) return [l];
    const k = Number(l.targetInput.slice(1));
    if (k === slot) return [];
    return [k > slot ? { ...l, targetInput: `#${k - 1}` } : l];
  });
}

/** The inner graph without boundary input `index`; the widgets it fed get `value` back. */
function innerWithout(inner: EditorGraph, index: number, value: unknown): EditorGraph {
  const fed = inner.links.filter((l) => l.source === INPUT_NODE && l.sourceSlot === index);
  const nodes = inner.nodes.map((n) => {
    if (n.id === INPUT_NODE && n.raw) return { ...n, raw: { ...n.raw, outputs: n.raw.outputs.filter((_, i) => i !== index) } };
    const names = fed.filter((l) => l.target === n.id).map((l) => l.targetInput);
    if (names.length === 0) return n;
    const widgets = { ...n.widgets };
    for (const name of names) widgets[name] = value;
    return { ...n, widgets, converted: n.converted.filter((c) => !names.includes(c)) };
  });
  const links = inner.links
    .filter((l) => !fed.includes(l))
    .map((l) => (l.source === INPUT_NODE && l.sourceSlot > index ? { ...l, sourceSlot: l.sourceSlot - 1 } : l));
  return { ...inner, nodes, links };
}

/** Un-promotes definition input `index` of instance `instanceId` (see the top of the file). */
export function demotePromotedWidget(graph: EditorGraph, instanceId: string, index: number, defs: NodeDefs): EditorGraph {
  const instance = graph.nodes.find((n) => n.id === instanceId);
  const found = instance && instanceDefinition(instance, graph, defs);
  const widget = found && promotedWidgets(instance, found.def, found.inner, defs).find((w) => w.index === index);
  if (!instance || !found || !widget) throw new Error(`node ${instanceId} has no promoted widget ${index}`);
  const { def } = found;
  const { inner } = graphOfInstance(graph, instanceId, defs);
  const base = { ...def, inputs: (def.inputs ?? []).filter((_, i) => i !== index) };
  const updated = definitionFromGraph(base, innerWithout(inner, index, widget.value), defs);
  let links = graph.links;
  const nodes = graph.nodes.map((n) => {
    if (n.type !== def.id || !n.raw) return n;
    links = shiftInstanceLinks(links, n.id, instanceInputSlots(n, def)[index]);
    return withoutInput(n, def, found.inner, defs, index);
  });
  const all = [...subgraphDefinitions(graph).values()].map((d) => (d.id === def.id ? updated : d));
  return withDefinitions({ ...graph, nodes, links }, all);
}
