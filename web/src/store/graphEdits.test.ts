import { describe, expect, it } from 'vitest';
import { defaultWorkflow } from '../workflow/defaultGraph';
import { uiToEditor } from '../workflow/fromUi';
import { defs } from '../workflow/testUtil';
import { graphToFlow, type FlowNode, type GroupNode, isLgNode } from './flowModel';
import { withGroupAroundSelection, withGroupTitle, nodesInside } from './graphEditsGroups';
import { checkConnection, linkEdges } from './graphEditsLinks';
import { withAddedNode, withToggledMode, withoutSelection } from './graphEditsNodes';
import { NodeChangeStream } from './graphNodeChanges';
import type { GraphState } from './graphStore';

function defaultState(): GraphState {
  const flow = graphToFlow(uiToEditor(defaultWorkflow('tiny.safetensors'), defs).graph);
  return { ...flow, defs, canUndo: false, canRedo: false, revision: 0 };
}

const selecting = (nodes: FlowNode[], ids: string[]) => nodes.map((n) => ({ ...n, selected: ids.includes(n.id) }));

describe('pure graph edits', () => {
  it('checks socket types and replaces the old link of an input', () => {
    const s = defaultState();
    expect(checkConnection(defs, s.nodes, { source: '4', sourceHandle: 'out:1', target: '3', targetHandle: 'in:model' })).toBeNull();
    expect(checkConnection(defs, s.nodes, { source: '4', sourceHandle: 'out:0', target: '3', targetHandle: 'in:model' })).toEqual({
      outType: 'MODEL',
      inType: 'MODEL',
    });
    const linked = linkEdges(defs, s.nodes, s.edges, s.meta, {
      source: '4',
      sourceHandle: 'out:0',
      target: '3',
      targetHandle: 'in:model',
    })!;
    expect(linked.edges).toHaveLength(s.edges.length);
    expect(linked.meta.lastLinkId).toBe(s.meta.lastLinkId + 1);
    expect(linked.edges.filter((e) => e.target === '3' && e.targetHandle === 'in:model').map((e) => e.data!.link.id)).toEqual([
      linked.meta.lastLinkId,
    ]);
  });

  it('adds a node selected alone, and refuses an unknown type', () => {
    const s = { ...defaultState(), nodes: selecting(defaultState().nodes, ['3']) };
    const added = withAddedNode(s, 'ImageInvert', { x: 10.4, y: 20.6 })!;
    expect(added.id).toBe(String(s.meta.lastNodeId + 1));
    expect(added.patch.nodes.filter((n) => n.selected).map((n) => n.id)).toEqual([added.id]);
    expect(added.patch.nodes.at(-1)!.position).toEqual({ x: 10, y: 21 });
    expect(withAddedNode(s, 'NoSuchNode', { x: 0, y: 0 })).toBeNull();
  });

  it('toggles a mode on the selection and deletes the selection with its links', () => {
    const s = defaultState();
    expect(withToggledMode(s.nodes, 4)).toBeNull();
    const sel = selecting(s.nodes, ['3']);
    const bypassed = withToggledMode(sel, 4)!;
    expect(bypassed.filter(isLgNode).find((n) => n.id === '3')!.data.node.mode).toBe(4);
    expect(
      withToggledMode(bypassed, 4)!
        .filter(isLgNode)
        .find((n) => n.id === '3')!.data.node.mode,
    ).toBe(0);
    expect(withoutSelection(s)).toBeNull();
    const rest = withoutSelection({ nodes: sel, edges: s.edges })!;
    expect(rest.nodes.some((n) => n.id === '3')).toBe(false);
    expect(rest.edges.some((e) => e.source === '3' || e.target === '3')).toBe(false);
  });

  it('groups the selection, retitles the group and finds the nodes inside', () => {
    const s = defaultState();
    expect(withGroupAroundSelection(s.nodes, 'G')).toBeNull();
    const grouped = withGroupAroundSelection(selecting(s.nodes, ['3', '4']), 'G')!;
    const group = grouped[0] as GroupNode;
    expect(group.type).toBe('group');
    expect(group.data.group.title).toBe('G');
    const inside = nodesInside(group, grouped);
    expect(inside).toEqual(expect.arrayContaining(['3', '4']));
    expect(inside).not.toContain(group.id);
    const renamed = withGroupTitle(grouped, group.id, 'H')[0] as GroupNode;
    expect(renamed.data.group.title).toBe('H');
  });

  it('records one step per drag and carries the nodes inside a dragged group', () => {
    const s = defaultState();
    const nodes = withGroupAroundSelection(selecting(s.nodes, ['3']), 'G')!;
    const group = nodes[0];
    const stream = new NodeChangeStream();
    let starts = 0;
    const drag = (x: number, dragging: boolean, before: FlowNode[]) =>
      stream.apply(
        [{ type: 'position', id: group.id, position: { x: group.position.x + x, y: group.position.y }, dragging }],
        before,
        () => starts++,
      )!;
    const first = drag(5, true, nodes);
    const second = drag(15, true, first.nodes);
    expect(first.touchesWorkflow).toBe(true);
    expect(starts).toBe(1);
    const inner = (ns: FlowNode[]) => ns.find((n) => n.id === '3')!.position.x;
    expect(inner(second.nodes)).toBe(inner(nodes) + 15);
    drag(15, false, second.nodes);
    drag(20, true, second.nodes);
    expect(starts).toBe(2);
    expect(stream.apply([{ type: 'remove', id: '3' }], nodes, () => starts++)).toBeNull();
  });
});
