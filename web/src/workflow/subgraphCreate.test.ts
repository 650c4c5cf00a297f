/** Convert to Subgraph / Unpack Subgraph: boundary slots, instance placement and round trips. */
import { describe, expect, it } from 'vitest';
import { uiToEditor } from './fromUi';
import { convertToSubgraph, unpackSubgraph } from './subgraphCreate';
import { flattenSubgraphs, subgraphDefinitions } from './subgraphFlatten';
import { editorToPrompt } from './toPrompt';
import { editorToUi } from './toUi';
import { defs, sdxlWorkflow } from './testUtil';
import type { ApiPrompt } from '../api/types';
import type { EditorGraph } from './types';

const load = () => uiToEditor(sdxlWorkflow(), defs).graph;
const promptOf = (g: EditorGraph) => editorToPrompt(flattenSubgraphs(g, defs), defs);

/** The prompt with the instance prefix "<id>:" taken off every node id and link. */
function unprefixed(prompt: ApiPrompt, instanceId: string): ApiPrompt {
  const strip = (id: string) => (id.startsWith(`${instanceId}:`) ? id.slice(instanceId.length + 1) : id);
  const text = JSON.stringify(Object.fromEntries(Object.entries(prompt).map(([id, node]) => [strip(id), node]))).replaceAll(
    `"${instanceId}:`,
    '"',
  );
  return JSON.parse(text);
}

/** Links as "source:slot>target.input", ids left out. */
const wiring = (g: EditorGraph) => g.links.map((l) => `${l.source}:${l.sourceSlot}>${l.target}.${l.targetInput}`).sort();

describe('convert to subgraph', () => {
  it('turns crossing links into typed, named inputs and outputs of a new definition', () => {
    const { graph, instanceId, definitionId } = convertToSubgraph(load(), ['10', '11', '12'], defs, 'Sampling');
    const def = subgraphDefinitions(graph).get(definitionId)!;
    expect(def.name).toBe('Sampling');
    expect(def.inputs!.map((i) => [i.name, i.type])).toEqual([
      ['latent_image', 'LATENT'],
      ['model', 'MODEL'],
      ['clip', 'CLIP'],
    ]);
    expect(def.outputs!.map((o) => [o.name, o.type])).toEqual([['LATENT', 'LATENT']]);
    expect(def.nodes.map((n) => n.id).sort()).toEqual([10, 11, 12]);
    // One input for the checkpoint's CLIP output, which fed both text encoders.
    expect(def.links.filter((l) => (l as { origin_id: number }).origin_id === -10)).toHaveLength(4);
    expect(def.inputs![2].linkIds).toHaveLength(2);
    const instance = graph.nodes.find((n) => n.id === instanceId)!;
    expect(instance).toMatchObject({ id: '17', type: definitionId, title: 'Sampling' });
    expect(graph.nodes.map((n) => n.id)).not.toContain('12');
    expect(wiring(graph)).toEqual(['13:0>17.#0', '14:0>7.images', '15:0>17.#1', '15:1>17.#2', '15:2>14.vae', '17:0>14.samples']);
  });

  it('queues the same prompt, with the moved nodes under "<instance>:"', () => {
    const original = load();
    const { graph, instanceId } = convertToSubgraph(original, ['10', '11', '12'], defs);
    const prompt = promptOf(graph);
    expect(Object.keys(prompt).sort()).toEqual(['13', '14', '15', '17:10', '17:11', '17:12', '7']);
    expect(unprefixed(prompt, instanceId)).toEqual(promptOf(original));
  });

  it('survives saving and loading the workflow', () => {
    const { graph } = convertToSubgraph(load(), ['10', '11'], defs);
    const reloaded = uiToEditor(JSON.parse(JSON.stringify(editorToUi(graph, defs))), defs);
    expect(reloaded.warnings).toEqual([]);
    expect(promptOf(reloaded.graph)).toEqual(promptOf(graph));
  });
});

describe('unpack subgraph', () => {
  it('restores the nodes, positions, widgets and links of a converted selection', () => {
    const original = load();
    const { graph, instanceId } = convertToSubgraph(original, ['10', '11', '12', '13'], defs);
    const back = unpackSubgraph(graph, instanceId, defs);
    const byId = (g: EditorGraph) => [...g.nodes].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(back)).toEqual(byId(original));
    expect(wiring(back)).toEqual(wiring(original));
    expect(back.passthrough?.definitions).toBeUndefined();
    expect(promptOf(back)).toEqual(promptOf(original));
  });

  it('gives new ids to inner nodes whose ids are taken and keeps a definition still in use', () => {
    const first = convertToSubgraph(load(), ['10'], defs);
    const g = first.graph;
    const copy = { ...g.nodes.find((n) => n.id === first.instanceId)!, id: '10', pos: [900, 900] as [number, number] };
    const twice = { ...g, nodes: [...g.nodes, copy], lastNodeId: 17 };
    const back = unpackSubgraph(twice, first.instanceId, defs);
    expect(back.nodes.map((n) => n.id).sort()).toEqual(['10', '11', '12', '13', '14', '15', '16', '18', '7']);
    expect(subgraphDefinitions(back).has(first.definitionId)).toBe(true);
    expect(back.links.some((l) => l.source === '18' && l.target === '12')).toBe(true);
  });

  it('refuses a node that is not an instance', () => {
    expect(() => unpackSubgraph(load(), '12', defs)).toThrow(/not a subgraph instance/);
  });
});
