/** Converting the canvas selection: the groups that go along leave the canvas, one undo brings all back. */
import { describe, expect, it } from 'vitest';
import { uiToEditor } from '../workflow/fromUi';
import { defs, sdxlWorkflow } from '../workflow/testUtil';
import { isLgNode } from './flowModel';
import { graphStore } from './graphStore';
import { convertSelection } from './subgraphNav';

describe('convert selection with groups', () => {
  it('takes the fully selected group along and undoes in one step', () => {
    graphStore.setDefs(defs);
    graphStore.load(uiToEditor(sdxlWorkflow(), defs).graph);
    graphStore.set({ nodes: graphStore.get().nodes.map((n) => ({ ...n, selected: ['10', '11'].includes(n.id) })) });
    const groupTitles = () => graphStore.graph().groups.map((g) => g.title);
    expect(convertSelection()).toBe(true);
    expect(groupTitles()).toEqual(['Image Size']);
    expect(graphStore.get().nodes.some((n) => n.id === '10')).toBe(false);
    graphStore.undo();
    expect(groupTitles()).toEqual(['Prompt', 'Image Size']);
    expect(
      graphStore
        .get()
        .nodes.filter(isLgNode)
        .map((n) => n.id),
    ).toContain('10');
  });

  it('converts the nodes of a group selected alone', () => {
    graphStore.load(uiToEditor(sdxlWorkflow(), defs).graph);
    graphStore.set({ nodes: graphStore.get().nodes.map((n) => ({ ...n, selected: n.id === 'group-2' })) });
    expect(convertSelection()).toBe(true);
    expect(graphStore.graph().groups.map((g) => g.title)).toEqual(['Prompt']);
    expect(graphStore.get().nodes.some((n) => n.id === '13')).toBe(false);
  });
});
