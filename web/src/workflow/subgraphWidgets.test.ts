/** Promoted widgets on a subgraph instance: listed with the inner widget's control, edited, queued. */
import { describe, expect, it } from 'vitest';
import { GraphStore } from '../store/graphStore';
import { setPromotedWidget } from '../store/promotedWidgetEdit';
import { uiToEditor } from './fromUi';
import { convertToSubgraph } from './subgraphCreate';
import { graphOfInstance, promoteWidget, writeBackDefinition } from './subgraphEdit';
import { flattenSubgraphs } from './subgraphFlatten';
import { instanceDefinition, promotedWidgets, withPromotedValue } from './subgraphWidgets';
import { editorToPrompt } from './toPrompt';
import { editorToUi } from './toUi';
import { defs, sdxlWorkflow } from './testUtil';
import type { EditorGraph } from './types';

const promptOf = (g: EditorGraph) => editorToPrompt(flattenSubgraphs(g, defs), defs);

/** The SDXL template with its sampler and prompts in a subgraph, steps and seed promoted. */
function promoted(): { graph: EditorGraph; instanceId: string } {
  const { graph, instanceId } = convertToSubgraph(uiToEditor(sdxlWorkflow(), defs).graph, ['10', '11', '12'], defs, 'Sampling');
  const { inner, definitionId } = graphOfInstance(graph, instanceId, defs);
  const edited = promoteWidget(promoteWidget(inner, '12', 'steps', defs), '12', 'seed', defs);
  return { graph: writeBackDefinition(graph, definitionId, edited, defs), instanceId };
}

const instanceOf = (g: EditorGraph, id: string) => g.nodes.find((n) => n.id === id)!;

describe('promoted widgets on an instance', () => {
  it('lists each promoted input with the inner widget and its value', () => {
    const { graph, instanceId } = promoted();
    const found = instanceDefinition(instanceOf(graph, instanceId), graph, defs)!;
    const widgets = promotedWidgets(instanceOf(graph, instanceId), found.def, found.inner, defs);
    expect(widgets.map((w) => [w.name, w.input.type, w.linked])).toEqual([
      ['steps', 'INT', false],
      ['seed', 'INT', false],
    ]);
    expect(widgets[0].value).toBe(25);
    expect(widgets[1].value).toBe(promptOf(graph)['17:12'].inputs.seed);
    expect(promotedWidgets(instanceOf(graph, instanceId), found.def, found.inner, defs, new Set(['#3']))[0].linked).toBe(true);
  });

  it('an edited value reaches the inner node of the queued prompt and survives a save', () => {
    const { graph, instanceId } = promoted();
    const found = instanceDefinition(instanceOf(graph, instanceId), graph, defs)!;
    const node = withPromotedValue(instanceOf(graph, instanceId), found.def, found.inner, defs, 4, 1234);
    const edited = { ...graph, nodes: graph.nodes.map((n) => (n.id === instanceId ? node : n)) };
    const prompt = promptOf(edited);
    expect(prompt['17:12'].inputs.seed).toBe(1234);
    expect(prompt['17:12'].inputs.steps).toBe(25);
    const reloaded = uiToEditor(JSON.parse(JSON.stringify(editorToUi(edited, defs))), defs).graph;
    expect(promptOf(reloaded)['17:12'].inputs.seed).toBe(1234);
  });

  it('fills the values before an unsaved one with those shown', () => {
    const { graph, instanceId } = promoted();
    const bare = { ...instanceOf(graph, instanceId) };
    bare.raw = { ...bare.raw!, widgets_values: [] };
    const found = instanceDefinition(bare, graph, defs)!;
    const node = withPromotedValue(bare, found.def, found.inner, defs, 4, 77);
    expect(node.raw!.widgets_values).toEqual([25, 77]);
  });

  it('is one undo step in the store', () => {
    const { graph, instanceId } = promoted();
    const store = new GraphStore();
    store.setDefs(defs);
    store.load(graph);
    setPromotedWidget(instanceId, 3, 9, store);
    expect(promptOf(store.graph())['17:12'].inputs.steps).toBe(9);
    store.undo();
    expect(promptOf(store.graph())['17:12'].inputs.steps).toBe(25);
  });
});
