import { describe, expect, it } from 'vitest';
import { defaultWorkflow } from '../workflow/defaultGraph';
import { uiToEditor } from '../workflow/fromUi';
import { editorToPrompt } from '../workflow/toPrompt';
import { defs } from '../workflow/testUtil';
import { GraphStore } from './graphStore';

function storeWithDefault(): GraphStore {
  const store = new GraphStore();
  store.setDefs(defs);
  store.load(uiToEditor(defaultWorkflow('tiny.safetensors'), defs).graph);
  return store;
}

const select = (store: GraphStore, ids: string[]) =>
  store.set({ nodes: store.get().nodes.map((n) => ({ ...n, selected: ids.includes(n.id) })) });

describe('graph store edits and undo/redo', () => {
  it('undoes and redoes adding, deleting and widget edits', () => {
    const store = storeWithDefault();
    const id = store.addNode('ImageInvert', { x: 10, y: 10 })!;
    expect(store.node(id)?.type).toBe('ImageInvert');
    store.undo();
    expect(store.node(id)).toBeUndefined();
    store.redo();
    expect(store.node(id)).toBeDefined();

    select(store, ['3']);
    store.deleteSelected();
    expect(store.node('3')).toBeUndefined();
    expect(store.get().edges.some((e) => e.source === '3' || e.target === '3')).toBe(false);
    store.undo();
    expect(store.node('3')).toBeDefined();
    expect(store.get().edges).toHaveLength(9);

    store.setWidget('3', 'steps', 21);
    store.setWidget('3', 'steps', 22); // same widget, same moment: one step
    store.undo();
    expect(store.node('3')!.widgets.steps).toBe(20);
  });

  it('refuses incompatible links and replaces the old link of an input', () => {
    const store = storeWithDefault();
    const before = store.get().edges.length;
    expect(store.connect({ source: '4', sourceHandle: 'out:1', target: '3', targetHandle: 'in:model' })).toBe(false);
    expect(store.get().edges).toHaveLength(before);
    const second = store.addNode('EmptyLatentImage', { x: 0, y: 0 })!;
    expect(store.connect({ source: second, sourceHandle: 'out:0', target: '3', targetHandle: 'in:latent_image' })).toBe(true);
    const into = store.get().edges.filter((e) => e.target === '3' && e.targetHandle === 'in:latent_image');
    expect(into.map((e) => e.source)).toEqual([second]);
    // Fan out: one output feeds several inputs.
    expect(store.get().edges.filter((e) => e.source === '4' && e.sourceHandle === 'out:1')).toHaveLength(2);
  });

  it('connects a node added from a dragged link, converting a widget when needed', () => {
    const store = storeWithDefault();
    const id = store.addNode('PrimitiveInt', { x: 0, y: 0 }, { nodeId: '3', handleId: 'in:seed', handleType: 'target', type: 'INT' });
    expect(store.get().edges).toHaveLength(9); // seed is a widget: no socket yet
    store.convertWidget('3', 'seed', true);
    const id2 = store.addNode('PrimitiveInt', { x: 0, y: 0 }, { nodeId: '3', handleId: 'in:seed', handleType: 'target', type: 'INT' })!;
    expect(store.get().edges.find((e) => e.target === '3' && e.targetHandle === 'in:seed')?.source).toBe(id2);
    expect(id).not.toBe(id2);
    const k = store.addNode('KSampler', { x: 0, y: 0 }, { nodeId: id2, handleId: 'out:0', handleType: 'source', type: 'INT' })!;
    expect(store.node(k)!.converted).toEqual(['seed']);
    expect(editorToPrompt(store.graph(), defs)[k].inputs.seed).toEqual([id2, 0]);
  });

  it('pastes copied nodes with their inner links as one undo step', () => {
    const store = storeWithDefault();
    select(store, ['4', '6', '7']);
    expect(store.copySelected()).toBe(true);
    const nodesBefore = store.get().nodes.length;
    const edgesBefore = store.get().edges.length;
    store.paste({ x: 1000, y: 1000 });
    expect(store.get().nodes).toHaveLength(nodesBefore + 3);
    expect(store.get().edges).toHaveLength(edgesBefore + 2); // CLIP → both text encoders
    const pasted = store
      .get()
      .nodes.filter((n) => n.selected)
      .map((n) => n.id);
    expect(pasted).toEqual(['10', '11', '12']);
    store.undo();
    expect(store.get().nodes).toHaveLength(nodesBefore);
    expect(store.get().edges).toHaveLength(edgesBefore);
  });

  it('keeps links from outside the copied nodes with paste-with-inputs (Ctrl+Shift+V)', () => {
    const store = storeWithDefault();
    select(store, ['6']);
    store.copySelected();
    store.paste(undefined, true);
    const into = store.get().edges.filter((e) => e.target === '10');
    expect(into.map((e) => [e.source, e.targetHandle])).toEqual([['4', 'in:clip']]);
    store.paste();
    expect(store.get().edges.filter((e) => e.target === '11')).toEqual([]);
  });

  it('adds frontend-only Note and Reroute nodes; a Reroute passes its link through', () => {
    const store = storeWithDefault();
    const note = store.addNode('Note', { x: 0, y: 0 })!;
    store.setRawWidget(note, 0, 'remember');
    expect(store.node(note)!.raw!.widgets_values).toEqual(['remember']);
    const reroute = store.addNode('Reroute', { x: 0, y: 0 }, { nodeId: '8', handleId: 'out:0', handleType: 'source', type: 'IMAGE' })!;
    expect(store.connect({ source: reroute, sourceHandle: 'out:0', target: '9', targetHandle: 'in:images' })).toBe(true);
    const prompt = editorToPrompt(store.graph(), defs);
    expect(prompt['9'].inputs.images).toEqual(['8', 0]);
    expect(prompt[note]).toBeUndefined();
    expect(prompt[reroute]).toBeUndefined();
  });

  it('toggles bypass and mute on the selection, and groups it', () => {
    const store = storeWithDefault();
    select(store, ['8']);
    store.toggleMode(4);
    expect(store.node('8')!.mode).toBe(4);
    store.toggleMode(4);
    expect(store.node('8')!.mode).toBe(0);
    store.toggleMode(2);
    expect(editorToPrompt(store.graph(), defs)['8']).toBeUndefined();
    store.groupSelected('Decode');
    expect(store.graph().groups.map((g) => g.title)).toEqual(['Decode']);
    store.undo();
    expect(store.graph().groups).toEqual([]);
  });

  it('records a whole drag as one undo step and moves the nodes inside a dragged group', () => {
    const store = storeWithDefault();
    select(store, ['8']);
    store.groupSelected('G');
    const group = store.get().nodes.find((n) => n.type === 'group')!;
    const start = store.get().nodes.find((n) => n.id === '8')!.position;
    const move = (dx: number, dragging: boolean) =>
      store.onNodesChange([{ type: 'position', id: group.id, position: { x: group.position.x + dx, y: group.position.y }, dragging }]);
    move(10, true);
    move(50, true);
    move(50, false);
    expect(store.get().nodes.find((n) => n.id === '8')!.position).toEqual({ x: start.x + 50, y: start.y });
    expect(store.get().nodes.find((n) => n.id === '3')!.position).toEqual({ x: 900, y: 180 }); // outside: unmoved
    store.undo();
    expect(store.get().nodes.find((n) => n.id === '8')!.position).toEqual(start);
    expect(store.graph().groups).toHaveLength(1);
  });

  it('advances the seed after queueing per control_after_generate', () => {
    const store = storeWithDefault();
    store.setControl('3', 'seed', 'increment');
    store.setWidget('3', 'seed', 5);
    store.applyControls();
    expect(store.node('3')!.widgets.seed).toBe(6);
  });
});
