/** A node from the model library lands with its file chosen, as one undo step. */
import { describe, expect, it } from 'vitest';
import { graphStore } from '../store/graphStore';
import { defs } from '../workflow/testUtil';
import { placeNode } from './placeNode';

describe('placing a library node', () => {
  it('adds a loader with its file set in one undo step', () => {
    graphStore.setDefs(defs);
    graphStore.restoreSession(null);
    const id = placeNode({ nodeType: 'CheckpointLoaderSimple', widgets: { ckpt_name: 'mine.safetensors' } }, { x: 10.4, y: 20 })!;
    expect(graphStore.node(id)).toMatchObject({
      type: 'CheckpointLoaderSimple',
      pos: [10, 20],
      widgets: { ckpt_name: 'mine.safetensors' },
    });
    graphStore.undo();
    expect(graphStore.node(id)).toBeUndefined();
    expect(graphStore.get().canUndo).toBe(false);
  });

  it('adds a node without values as the search does', () => {
    graphStore.restoreSession(null);
    const id = placeNode({ nodeType: 'KSampler' }, { x: 0, y: 0 })!;
    expect(graphStore.node(id)!.widgets.steps).toBe(defs.KSampler.inputs.find((i) => i.name === 'steps')!.options.default);
  });
});
