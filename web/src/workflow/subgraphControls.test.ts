/** control_after_generate inside subgraph definitions and on promoted widgets. */
import { describe, expect, it } from 'vitest';
import { GraphStore } from '../store/graphStore';
import { uiToEditor } from './fromUi';
import { convertToSubgraph } from './subgraphCreate';
import { graphOfInstance, promoteWidget, writeBackDefinition } from './subgraphEdit';
import { flattenSubgraphs } from './subgraphFlatten';
import { applyControlsWithSubgraphs } from './subgraphControls';
import { editorToPrompt } from './toPrompt';
import { defs, sdxlWorkflow } from './testUtil';
import type { EditorGraph } from './types';

const promptOf = (g: EditorGraph) => editorToPrompt(flattenSubgraphs(g, defs), defs);

/** The SDXL template's sampler (seed on "increment") in a subgraph used by two instances. */
function twoInstances(promoteSeed: boolean): EditorGraph {
  const base = uiToEditor(sdxlWorkflow(), defs).graph;
  const start = {
    ...base,
    nodes: base.nodes.map((n) => (n.id === '12' ? { ...n, widgets: { ...n.widgets, seed: 100 }, controls: { seed: 'increment' } } : n)),
  };
  let { graph, instanceId } = convertToSubgraph(start, ['10', '11', '12'], defs, 'Sampling');
  if (promoteSeed) {
    const { inner, definitionId } = graphOfInstance(graph, instanceId, defs);
    graph = writeBackDefinition(graph, definitionId, promoteWidget(inner, '12', 'seed', defs), defs);
  }
  const second = { ...graph.nodes.find((n) => n.id === instanceId)!, id: '30' };
  return { ...graph, nodes: [...graph.nodes, second], lastNodeId: 30 };
}

const run = (g: EditorGraph): EditorGraph => {
  const next = applyControlsWithSubgraphs(g.nodes, g.passthrough, defs);
  return { ...g, nodes: next.nodes, passthrough: next.passthrough };
};

describe('control after generate inside subgraphs', () => {
  it('advances a seed inside a definition once per run, for every instance', () => {
    const g = twoInstances(false);
    expect(promptOf(g)['17:12'].inputs.seed).toBe(100);
    const once = run(g);
    expect(promptOf(once)['17:12'].inputs.seed).toBe(101);
    expect(promptOf(once)['30:12'].inputs.seed).toBe(101);
    expect(promptOf(run(once))['17:12'].inputs.seed).toBe(102);
  });

  it('leaves a workflow without controlled widgets as it is', () => {
    const g = uiToEditor(sdxlWorkflow(), defs).graph;
    const fixed = { ...g, nodes: g.nodes.map((n) => ({ ...n, controls: {} })) };
    const next = applyControlsWithSubgraphs(fixed.nodes, fixed.passthrough, defs);
    expect(next.passthrough).toBe(fixed.passthrough);
    expect(next.nodes.every((n, i) => n === fixed.nodes[i])).toBe(true);
  });

  it('advances a promoted seed on each instance by the inner widget control', () => {
    const g = twoInstances(true);
    const once = run(g);
    expect(promptOf(once)['17:12'].inputs.seed).toBe(101);
    expect(promptOf(once)['30:12'].inputs.seed).toBe(101);
    expect(promptOf(run(once))['30:12'].inputs.seed).toBe(102);
  });

  it('runs from the graph store after a queue', () => {
    const store = new GraphStore();
    store.setDefs(defs);
    store.load(twoInstances(false));
    store.applyControls();
    expect(promptOf(store.graph())['30:12'].inputs.seed).toBe(101);
  });
});
