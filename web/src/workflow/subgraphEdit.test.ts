/** Entering a subgraph, editing it, writing it back, promoting a widget. */
import { describe, expect, it } from 'vitest';
import { uiToEditor } from './fromUi';
import { convertToSubgraph } from './subgraphCreate';
import { graphOfInstance, promoteWidget, writeBackDefinition } from './subgraphEdit';
import { flattenSubgraphs } from './subgraphFlatten';
import { editorToPrompt } from './toPrompt';
import { editorToUi } from './toUi';
import { defs, sdxlWorkflow } from './testUtil';
import type { EditorGraph } from './types';

const promptOf = (g: EditorGraph) => editorToPrompt(flattenSubgraphs(g, defs), defs);
const converted = () => convertToSubgraph(uiToEditor(sdxlWorkflow(), defs).graph, ['10', '11', '12'], defs, 'Sampling');
const setWidget = (g: EditorGraph, id: string, name: string, value: unknown): EditorGraph => ({
  ...g,
  nodes: g.nodes.map((n) => (n.id === id ? { ...n, widgets: { ...n.widgets, [name]: value } } : n)),
});

describe('entering a subgraph', () => {
  it('shows the inner nodes and the boundary as Inputs and Outputs', () => {
    const { graph, instanceId, definitionId } = converted();
    const entered = graphOfInstance(graph, instanceId, defs);
    expect(entered).toMatchObject({ definitionId, name: 'Sampling' });
    expect(entered.inner.nodes.map((n) => n.title)).toEqual(['Positive Prompt', 'Negative Prompt', 'KSampler', 'Inputs', 'Outputs']);
    expect(entered.inner.nodes.find((n) => n.id === '-10')!.raw!.outputs.map((o) => o.name)).toEqual(['latent_image', 'model', 'clip']);
  });

  it('writes an edit back into the definition, for every instance', () => {
    const { graph, instanceId } = converted();
    const second = { ...graph.nodes.find((n) => n.id === instanceId)!, id: '30' };
    const two = { ...graph, nodes: [...graph.nodes, second], lastNodeId: 30 };
    const { inner, definitionId } = graphOfInstance(two, instanceId, defs);
    const back = writeBackDefinition(two, definitionId, setWidget(inner, '12', 'steps', 7), defs);
    const prompt = promptOf(back);
    expect(prompt['17:12'].inputs.steps).toBe(7);
    expect(prompt['30:12'].inputs.steps).toBe(7);
    const reloaded = uiToEditor(JSON.parse(JSON.stringify(editorToUi(back, defs))), defs).graph;
    expect(promptOf(reloaded)).toEqual(prompt);
  });

  it('writes nothing different when nothing was edited', () => {
    const { graph, instanceId } = converted();
    const { inner, definitionId } = graphOfInstance(graph, instanceId, defs);
    expect(promptOf(writeBackDefinition(graph, definitionId, inner, defs))).toEqual(promptOf(graph));
  });

  it('promotes a widget: the instance gets an input with the value, and its value wins', () => {
    const { graph, instanceId } = converted();
    const { inner, definitionId } = graphOfInstance(graph, instanceId, defs);
    const promoted = promoteWidget(inner, '12', 'steps', defs);
    const back = writeBackDefinition(graph, definitionId, promoted, defs);
    const instance = back.nodes.find((n) => n.id === instanceId)!;
    expect(instance.raw!.inputs.at(-1)).toEqual({ name: 'steps', type: 'INT', widget: { name: 'steps' } });
    expect(instance.raw!.widgets_values).toEqual([25]);
    expect(promptOf(back)['17:12'].inputs.steps).toBe(25);
    const changed = {
      ...back,
      nodes: back.nodes.map((n) => (n.id === instanceId ? { ...n, raw: { ...n.raw!, widgets_values: [9] } } : n)),
    };
    expect(promptOf(changed)['17:12'].inputs.steps).toBe(9);
    expect(() => promoteWidget(inner, '12', 'model', defs)).toThrow(/no widget/);
  });
});
