/** Node handling: colours, collapse, pin, align/distribute, resize, and their ComfyUI round trip. */
import { describe, expect, it } from 'vitest';
import { uiToEditor } from '../workflow/fromUi';
import { defs, sdxlWorkflow } from '../workflow/testUtil';
import { editorToUi } from '../workflow/toUi';
import type { UiNode } from '../workflow/types';
import { type FlowNode, flowToGraph, graphToFlow, isLgNode, type LgNode, NODE_TITLE_HEIGHT, settleResizes } from './flowModel';
import { graphStore } from './graphStore';
import { alignNodes, distributeNodes, nodeEdits, setColor, setFlag } from './nodeEdits';

/** The SDXL template as React Flow nodes, each "measured" at the size its file gives. */
function sdxlFlow() {
  const flow = graphToFlow(uiToEditor(sdxlWorkflow(), defs).graph);
  flow.nodes = flow.nodes.map((n) =>
    isLgNode(n) && n.data.node.size
      ? { ...n, measured: { width: n.data.node.size[0], height: n.data.node.size[1] + NODE_TITLE_HEIGHT } }
      : n,
  );
  return flow;
}

const lg = (nodes: FlowNode[], id: string) => nodes.find((n) => n.id === id) as LgNode;
const uiNode = (nodes: UiNode[], id: number) => nodes.find((n) => n.id === id)!;

describe('node handling', () => {
  it('colours several nodes with ComfyUI palette values and clears them again', () => {
    const { nodes } = sdxlFlow();
    const red = setColor(nodes, new Set(['12', '14']), 'red');
    expect(lg(red, '12').data.node).toMatchObject({ color: '#322', bgcolor: '#533' });
    expect(lg(red, '14').data.node).toMatchObject({ color: '#322', bgcolor: '#533' });
    expect(lg(red, '10').data.node.color).toBe('#232'); // untouched
    const cleared = setColor(red, new Set(['12']), null);
    expect(lg(cleared, '12').data.node.color).toBeUndefined();
    expect(lg(cleared, '12').data.node.bgcolor).toBeUndefined();
  });

  it('collapses to the title and expands back to the size it had; pinning stops dragging', () => {
    const { nodes } = sdxlFlow();
    const collapsed = setFlag(nodes, new Set(['12']), 'collapsed', true);
    const k = lg(collapsed, '12');
    expect(k.data.node.flags).toEqual({ collapsed: true });
    expect(k.style).toBeUndefined(); // drawn at its title's size
    expect(k.data.node.size).toEqual([270, 270]);
    const expanded = lg(setFlag(collapsed, new Set(['12']), 'collapsed', false), '12');
    expect(expanded.data.node.flags).toEqual({});
    expect(expanded.style).toEqual({ width: 270, minHeight: 270 + NODE_TITLE_HEIGHT });

    const pinned = lg(setFlag(nodes, new Set(['12']), 'pinned', true), '12');
    expect(pinned.draggable).toBe(false);
    expect(lg(setFlag([pinned], new Set(['12']), 'pinned', false), '12').draggable).toBeUndefined();
  });

  it('aligns the selection on a common edge and distributes it with equal gaps', () => {
    const { nodes } = sdxlFlow();
    const ids = new Set(['12', '13', '14']);
    const left = alignNodes(nodes, ids, 'left');
    const xs = [...ids].map((id) => lg(left, id).position.x);
    expect(new Set(xs).size).toBe(1);
    expect(xs[0]).toBe(Math.min(...[...ids].map((id) => lg(nodes, id).position.x)));
    const right = alignNodes(nodes, ids, 'right');
    const rights = [...ids].map((id) => lg(right, id).position.x + lg(right, id).measured!.width!);
    expect(new Set(rights).size).toBe(1);

    const spread = distributeNodes(nodes, ids, 'vertical');
    const boxes = [...ids]
      .map((id) => lg(spread, id))
      .map((n) => ({ y: n.position.y, h: n.measured!.height! }))
      .sort((a, b) => a.y - b.y);
    const gap1 = boxes[1].y - (boxes[0].y + boxes[0].h);
    const gap2 = boxes[2].y - (boxes[1].y + boxes[1].h);
    expect(Math.abs(gap1 - gap2)).toBeLessThanOrEqual(1);
    expect(alignNodes(nodes, new Set(['12']), 'left')).toBe(nodes); // one node: nothing to align
  });

  it("turns the resizer's fixed height into a least height and saves it as ComfyUI's size", () => {
    const { nodes, edges, meta } = sdxlFlow();
    const resizedByRf = nodes.map((n) => (n.id === '14' ? { ...n, width: 400, height: 180 } : n));
    const settled = settleResizes(resizedByRf, [{ id: '14', type: 'dimensions', resizing: true, dimensions: { width: 400, height: 180 } }]);
    const vae = lg(settled, '14');
    expect(vae.width).toBeUndefined();
    expect(vae.height).toBeUndefined();
    expect(vae.style).toMatchObject({ width: 400, minHeight: 180 });
    const measured = settled.map((n) => (n.id === '14' ? { ...n, measured: { width: 400, height: 180 } } : n));
    const ui = editorToUi(flowToGraph(measured, edges, meta), defs);
    expect(uiNode(ui.nodes, 14).size).toEqual([400, 180 - NODE_TITLE_HEIGHT]);
  });

  it('round-trips size, flags, colours and titles of a real ComfyUI workflow', () => {
    const wf = sdxlWorkflow();
    uiNode(wf.nodes, 12).flags = { collapsed: true };
    uiNode(wf.nodes, 14).flags = { pinned: true };
    const graph = uiToEditor(wf, defs).graph;
    const back = editorToUi(graph, defs);
    for (const original of wf.nodes) {
      const saved = uiNode(back.nodes, Number(original.id));
      expect(saved.size).toEqual(original.size);
      expect(saved.flags ?? {}).toEqual(original.flags ?? {});
      expect(saved.color).toBe(original.color);
      expect(saved.bgcolor).toBe(original.bgcolor);
      expect(saved.title).toBe(original.title);
    }
    // Through the canvas too: flow nodes measured at the file's sizes give the same sizes back.
    const { nodes, edges, meta } = sdxlFlow();
    const again = editorToUi(flowToGraph(nodes, edges, meta), defs);
    for (const original of wf.nodes) expect(uiNode(again.nodes, Number(original.id)).size).toEqual(original.size);
  });

  it('records every edit on the open workflow as one undo step and bumps the revision', () => {
    graphStore.setDefs(defs);
    graphStore.load(uiToEditor(sdxlWorkflow(), defs).graph);
    graphStore.set({ nodes: graphStore.get().nodes.map((n) => ({ ...n, selected: n.id === '12' || n.id === '13' })) });
    const revision = graphStore.get().revision;
    nodeEdits.setColor('blue');
    expect(graphStore.node('12')?.bgcolor).toBe('#335');
    expect(graphStore.node('13')?.bgcolor).toBe('#335');
    nodeEdits.toggleCollapsed();
    nodeEdits.togglePinned();
    expect(graphStore.node('12')?.flags).toEqual({ collapsed: true, pinned: true });
    expect(graphStore.get().revision).toBe(revision + 3);
    graphStore.undo();
    graphStore.undo();
    expect(graphStore.node('12')?.flags).toEqual({});
    graphStore.undo();
    expect(graphStore.node('13')?.bgcolor).toBe('#535');
  });
});
