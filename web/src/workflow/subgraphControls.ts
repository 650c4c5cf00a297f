/**
 * control_after_generate inside subgraphs, after each queued run: the controlled widgets of the
 * nodes inside every definition advance once per definition (however many instances use it, as
 * in ComfyUI), and a promoted widget whose inner widget is controlled advances on each instance.
 */
import type { NodeDefs } from './nodeDefs';
import { applyControlAfterGenerate } from './seedControl';
import { definitionGraph, subgraphDefinitions, type UiSubgraphDefinition } from './subgraphFlatten';
import { instanceDefinition, promotedWidgets, withPromotedValue } from './subgraphWidgets';
import { widgetValuesOf } from './toUi';
import type { EditorNode } from './types';

type Passthrough = Record<string, unknown> | undefined;

/** The workflow's definitions with their controlled inner widgets advanced (`passthrough` itself when none changed). */
export function advanceDefinitionControls(passthrough: Passthrough, defs: NodeDefs, random?: () => number): Passthrough {
  const updated = new Map<string, UiSubgraphDefinition>();
  for (const def of subgraphDefinitions({ passthrough }).values()) {
    const inner = definitionGraph(def, defs);
    const next = applyControlAfterGenerate(inner.nodes, defs, random);
    const changed = new Map(next.filter((n, i) => n !== inner.nodes[i]).map((n) => [n.id, n]));
    if (changed.size === 0) continue;
    const nodes = def.nodes.map((u) => {
      const c = changed.get(String(u.id));
      return c ? { ...u, widgets_values: widgetValuesOf(c, defs) } : u;
    });
    updated.set(def.id, { ...def, nodes });
  }
  return updated.size ? replaceDefinitions(passthrough ?? {}, updated) : passthrough;
}

/** `holder` (the workflow's passthrough or a definition) with the definitions of `updated` put in, nested lists included. */
function replaceDefinitions<T extends { definitions?: unknown }>(holder: T, updated: Map<string, UiSubgraphDefinition>): T {
  const definitions = holder.definitions as { subgraphs?: unknown } | undefined;
  if (!definitions || !Array.isArray(definitions.subgraphs)) return holder;
  const subgraphs = (definitions.subgraphs as UiSubgraphDefinition[]).map((d) =>
    d && typeof d === 'object' ? replaceDefinitions(updated.get(d.id) ?? d, updated) : d,
  );
  return { ...holder, definitions: { ...definitions, subgraphs } };
}

/** Instance `node` with its promoted values advanced by the control of the inner widget they feed. */
export function advancePromotedControls(node: EditorNode, passthrough: Passthrough, defs: NodeDefs, random?: () => number): EditorNode {
  if (!node.raw) return node;
  const found = instanceDefinition(node, { passthrough }, defs);
  if (!found) return node;
  let result = node;
  for (const w of promotedWidgets(node, found.def, found.inner, defs)) {
    const target = found.inner.nodes.find((n) => n.id === w.target);
    const control = target?.controls[w.input.name];
    if (!target || w.linked || !control || control === 'fixed') continue;
    // The inner node's own rule, applied to the value the instance holds.
    const probe = { ...target, widgets: { [w.input.name]: w.value }, controls: { [w.input.name]: control }, converted: [] };
    const next = applyControlAfterGenerate([probe], defs, random)[0].widgets[w.input.name];
    if (next !== w.value) result = withPromotedValue(result, found.def, found.inner, defs, w.index, next);
  }
  return result;
}

/** All of control_after_generate for one queued run: top-level nodes, instances' promoted values, definitions. */
export function applyControlsWithSubgraphs(
  nodes: EditorNode[],
  passthrough: Passthrough,
  defs: NodeDefs,
  random?: () => number,
): { nodes: EditorNode[]; passthrough: Passthrough } {
  const top = applyControlAfterGenerate(nodes, defs, random);
  const ids = subgraphDefinitions({ passthrough });
  const advanced = ids.size ? top.map((n) => (ids.has(n.type) ? advancePromotedControls(n, passthrough, defs, random) : n)) : top;
  return { nodes: advanced, passthrough: ids.size ? advanceDefinitionControls(passthrough, defs, random) : passthrough };
}
