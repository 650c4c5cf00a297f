/**
 * Promoted widgets of a subgraph instance: the subgraph inputs that feed a widget of an inner
 * node, shown on the instance with that inner widget's control (number, combo, text) and edited
 * there. Their values live in the instance's `widgets_values`, where subgraphFlatten's
 * `promotedValues` reads them when the workflow is queued (and ComfyUI saves them).
 */
import type { InputDef, NodeDefs } from './nodeDefs';
import {
  definitionGraph,
  INPUT_NODE,
  instanceInputSlots,
  promotedLayout,
  promotedValues,
  subgraphDefinitions,
  type UiSubgraphDefinition,
} from './subgraphFlatten';
import type { EditorGraph, EditorNode } from './types';

export interface PromotedWidget {
  /** Index of the subgraph input (in the definition's inputs). */
  index: number;
  /** The subgraph input's name (shown as the widget's label). */
  name: string;
  /** The inner widget's input definition: the control to draw. */
  input: InputDef;
  /** The value the instance sends: its own promoted value, else the inner widget's value. */
  value: unknown;
  /** The instance input is linked: the linked value wins when queued. */
  linked: boolean;
  /** The inner node the value goes to (its id in the definition). */
  target: string;
}

/** The definition of instance `instance` in `graph`, and its inner graph (boundary nodes included). */
export function instanceDefinition(
  instance: EditorNode,
  graph: Pick<EditorGraph, 'passthrough'>,
  defs: NodeDefs,
): { def: UiSubgraphDefinition; inner: EditorGraph } | null {
  const def = subgraphDefinitions(graph).get(instance.type);
  return def ? { def, inner: definitionGraph(def, defs) } : null;
}

/** The promoted widgets of an instance, in the definition's input order. */
export function promotedWidgets(
  instance: EditorNode,
  def: UiSubgraphDefinition,
  inner: EditorGraph,
  defs: NodeDefs,
  linkedInputs: Set<string> = new Set(),
): PromotedWidget[] {
  const slots = instanceInputSlots(instance, def);
  const values = promotedValues(instance, def, inner, slots, defs);
  const innerById = new Map(inner.nodes.map((n) => [n.id, n]));
  const result: PromotedWidget[] = [];
  (def.inputs ?? []).forEach((io, index) => {
    for (const l of inner.links) {
      if (l.source !== INPUT_NODE || l.sourceSlot !== index) continue;
      const target = innerById.get(l.target);
      const input = target && !target.raw ? defs[target.type]?.inputs.find((i) => i.name === l.targetInput) : undefined;
      if (!target || !input?.isWidget) continue;
      const linked = slots[index] !== undefined && linkedInputs.has(`#${slots[index]}`);
      const value = values.has(index) ? values.get(index) : target.widgets[input.name];
      result.push({ index, name: io.name, input, value, linked, target: target.id });
      return;
    }
  });
  return result;
}

/** `instance` with the value of promoted input `index` set to `value` (other saved values kept). */
export function withPromotedValue(
  instance: EditorNode,
  def: UiSubgraphDefinition,
  inner: EditorGraph,
  defs: NodeDefs,
  index: number,
  value: unknown,
): EditorNode {
  if (!instance.raw) return instance;
  const slots = instanceInputSlots(instance, def);
  const { promoted, positions } = promotedLayout(instance, def, inner, slots, defs);
  const order = promoted.indexOf(index);
  if (order < 0) return instance;
  const list = instance.raw.widgets_values;
  const at = positions.get(index);
  let next: unknown[] | Record<string, unknown>;
  if (!Array.isArray(list)) {
    next = { ...list, [def.inputs![index].name]: value };
  } else if (typeof at === 'number') {
    next = [...list];
    next[at] = value;
  } else {
    // Not saved yet: the values before it are the ones shown (the inner widgets' values).
    const shown = new Map(promotedWidgets(instance, def, inner, defs).map((w) => [w.index, w.value]));
    next = [...list];
    for (let k = list.length; k < order; k++) next[k] = shown.get(promoted[k]) ?? null;
    next[order] = value;
  }
  return { ...instance, raw: { ...instance.raw, widgets_values: next } };
}
