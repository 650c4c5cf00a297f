/** Un-promoting a widget from an instance: the input leaves the definition and every instance. */
import { describe, expect, it } from 'vitest';
import { uiToEditor } from './fromUi';
import { convertToSubgraph } from './subgraphCreate';
import { demotePromotedWidget } from './subgraphDemote';
import { graphOfInstance, promoteWidget, writeBackDefinition } from './subgraphEdit';
import { flattenSubgraphs, subgraphDefinitions } from './subgraphFlatten';
import { instanceDefinition, promotedWidgets, withPromotedValue } from './subgraphWidgets';
import { editorToPrompt } from './toPrompt';
import { defs, sdxlWorkflow } from './testUtil';
import type { EditorGraph } from './types';

const promptOf = (g: EditorGraph) => editorToPrompt(flattenSubgraphs(g, defs), defs);

/** The SDXL sampler and prompts in a subgraph (instance 17), steps and seed promoted, steps set to 31. */
function promoted(): EditorGraph {
  const { graph, instanceId } = convertToSubgraph(uiToEditor(sdxlWorkflow(), defs).graph, ['10', '11', '12'], defs, 'Sampling');
  const { inner, definitionId } = graphOfInstance(graph, instanceId, defs);
  const edited = promoteWidget(promoteWidget(inner, '12', 'steps', defs), '12', 'seed', defs);
  const g = writeBackDefinition(graph, definitionId, edited, defs);
  const instance = g.nodes.find((n) => n.id === instanceId)!;
  const found = instanceDefinition(instance, g, defs)!;
  const stepsIndex = promotedWidgets(instance, found.def, found.inner, defs)[0].index;
  const set = withPromotedValue(instance, found.def, found.inner, defs, stepsIndex, 31);
  return { ...g, nodes: g.nodes.map((n) => (n.id === instanceId ? set : n)) };
}

describe('un-promote a widget from an instance', () => {
  it('removes the subgraph input; the inner widget keeps the value the instance sent', () => {
    const graph = promoted();
    const instance = graph.nodes.find((n) => n.id === '17')!;
    const found = instanceDefinition(instance, graph, defs)!;
    const [steps, seed] = promotedWidgets(instance, found.def, found.inner, defs);
    const before = promptOf(graph);
    expect(before['17:12'].inputs.steps).toBe(31);

    const after = demotePromotedWidget(graph, '17', steps.index, defs);
    const def = subgraphDefinitions(after).get(instance.type)!;
    expect(def.inputs!.map((i) => i.name)).not.toContain('steps');
    const inner = graphOfInstance(after, '17', defs).inner;
    const sampler = inner.nodes.find((n) => n.id === '12')!;
    expect(sampler.converted).not.toContain('steps');
    expect(sampler.widgets.steps).toBe(31);
    const next = after.nodes.find((n) => n.id === '17')!;
    expect(next.raw!.inputs.map((i) => i.name)).not.toContain('steps');
    const left = promotedWidgets(next, def, inner, defs);
    expect(left.map((w) => [w.name, w.value])).toEqual([['seed', seed.value]]);
    // The value moved from the instance into the definition: the same prompt is queued.
    expect(promptOf(after)).toEqual(before);
  });

  it('refuses an input that is not a promoted widget', () => {
    expect(() => demotePromotedWidget(promoted(), '17', 0, defs)).toThrow(/no promoted widget/);
  });
});
