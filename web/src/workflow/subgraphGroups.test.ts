/** Groups moved into a new subgraph with the selection, shown inside it, and put back on unpack. */
import { describe, expect, it } from 'vitest';
import { uiToEditor } from './fromUi';
import { convertToSubgraph, unpackSubgraph } from './subgraphCreate';
import { graphOfInstance } from './subgraphEdit';
import { subgraphDefinitions } from './subgraphFlatten';
import { editorToUi } from './toUi';
import { defs, sdxlWorkflow } from './testUtil';

// The fixture's group "Prompt" (id 1) holds the text encoders 10 and 11, "Image Size" (id 2) the latent 13.
const load = () => uiToEditor(sdxlWorkflow(), defs).graph;
const titles = (groups: { title: string }[] | undefined) => (groups ?? []).map((g) => g.title);

describe('groups in convert to subgraph', () => {
  it('moves a group whose nodes are all selected into the definition, at the same place', () => {
    const original = load();
    const { graph, definitionId } = convertToSubgraph(original, ['10', '11', '12'], defs);
    const def = subgraphDefinitions(graph).get(definitionId)!;
    expect(titles(graph.groups)).toEqual(['Image Size']);
    expect(titles(def.groups as { title: string }[])).toEqual(['Prompt']);
    expect((def.groups as { bounding: number[] }[])[0].bounding).toEqual(original.groups[0].bounding);
    expect((def.state as { lastGroupId: number }).lastGroupId).toBe(1);
  });

  it('leaves a group outside when one of its nodes is not selected', () => {
    const { graph, definitionId } = convertToSubgraph(load(), ['10', '12'], defs);
    expect(titles(graph.groups)).toEqual(['Prompt', 'Image Size']);
    expect(subgraphDefinitions(graph).get(definitionId)!.groups).toEqual([]);
  });

  it('moves a selected group, and converts the nodes of groups selected alone', () => {
    const withSelected = convertToSubgraph(load(), ['10', '11', '12'], defs, 'S', [2]);
    expect(withSelected.graph.groups).toEqual([]);
    const groupsOnly = convertToSubgraph(load(), [], defs, 'S', [1]);
    const def = subgraphDefinitions(groupsOnly.graph).get(groupsOnly.definitionId)!;
    expect(def.nodes.map((n) => n.id).sort()).toEqual([10, 11]);
    expect(titles(def.groups as { title: string }[])).toEqual(['Prompt']);
    expect(titles(groupsOnly.graph.groups)).toEqual(['Image Size']);
  });

  it('shows the group inside the subgraph and keeps it through saving and loading', () => {
    const { graph, instanceId } = convertToSubgraph(load(), ['10', '11'], defs);
    const reloaded = uiToEditor(JSON.parse(JSON.stringify(editorToUi(graph, defs))), defs).graph;
    const { inner } = graphOfInstance(reloaded, instanceId, defs);
    expect(titles(inner.groups)).toEqual(['Prompt']);
  });

  it('puts the group back where it was on unpack, with an id that is free', () => {
    const original = load();
    const { graph, instanceId } = convertToSubgraph(original, ['10', '11', '12'], defs);
    const back = unpackSubgraph(graph, instanceId, defs);
    expect(titles(back.groups)).toEqual(['Image Size', 'Prompt']);
    expect(back.groups[1]).toMatchObject({ id: 3, bounding: original.groups[0].bounding });
  });
});
