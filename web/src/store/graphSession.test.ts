import { describe, expect, it } from 'vitest';
import { defaultWorkflow } from '../workflow/defaultGraph';
import { uiToEditor } from '../workflow/fromUi';
import { defs } from '../workflow/testUtil';
import { GraphStore } from './graphStore';

describe('graph sessions (one per workflow tab)', () => {
  it('parks a workflow with its undo history and brings both back', () => {
    const store = new GraphStore();
    store.setDefs(defs);
    store.load(uiToEditor(defaultWorkflow('tiny.safetensors'), defs).graph);
    const added = store.addNode('ImageInvert', { x: 0, y: 0 })!;
    const parked = store.saveSession();

    // Another tab: an empty canvas with no history of its own.
    store.restoreSession(null);
    expect(store.get().nodes).toEqual([]);
    expect(store.get().canUndo).toBe(false);
    store.addNode('ImageInvert', { x: 5, y: 5 });
    expect(store.get().canUndo).toBe(true);

    store.restoreSession(parked);
    expect(store.get().revision).toBe(parked.revision);
    expect(store.node(added)?.type).toBe('ImageInvert');
    store.undo(); // the first tab's last step: adding ImageInvert
    expect(store.node(added)).toBeUndefined();
    expect(store.get().nodes.length).toBe(7);
  });
});
