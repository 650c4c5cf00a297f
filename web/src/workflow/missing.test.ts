import { describe, expect, it } from 'vitest';
import { uiToEditor } from './fromUi';
import { findMissing, folderFor } from './missing';
import { defs } from './testUtil';

const node = (id: number, type: string, widgets_values: unknown[], mode = 0) => ({
  id,
  type,
  pos: [0, 0],
  mode,
  inputs: [],
  outputs: [],
  widgets_values,
});

describe('missing models and node types of a loaded workflow', () => {
  it('names absent files with their folder, and absent node types, once each', () => {
    const workflow = {
      last_node_id: 6,
      last_link_id: 0,
      nodes: [
        node(1, 'CheckpointLoaderSimple', ['absent_xl.safetensors']),
        node(2, 'CheckpointLoaderSimple', ['tiny.safetensors']),
        node(3, 'LoadImage', ['gone.png', 'image']),
        node(4, 'NoSuchNode', [1]),
        node(5, 'NoSuchNode', [2]),
        node(6, 'Note', ['text']),
        node(7, 'CheckpointLoaderSimple', ['muted_only.safetensors'], 2),
      ],
      links: [],
    };
    const { graph } = uiToEditor(workflow, defs);
    expect(findMissing(graph, defs)).toEqual({
      nodeTypes: ['NoSuchNode'],
      files: [
        { nodeId: '1', nodeTitle: 'Load Checkpoint', input: 'ckpt_name', file: 'absent_xl.safetensors', folder: 'models/checkpoints' },
        { nodeId: '3', nodeTitle: 'Load Image', input: 'image', file: 'gone.png', folder: 'input' },
      ],
    });
  });

  it('reports nothing for a workflow whose files all exist', () => {
    const { graph } = uiToEditor(
      { last_node_id: 1, last_link_id: 0, nodes: [node(1, 'LoadImage', ['cat.png', 'image'])], links: [] },
      defs,
    );
    expect(findMissing(graph, defs)).toEqual({ nodeTypes: [], files: [] });
  });

  it('knows where loader files go', () => {
    expect(folderFor('LoraLoader', 'lora_name')).toBe('models/loras');
    expect(folderFor('CLIPVisionLoader', 'clip_name')).toBe('models/clip_vision');
    expect(folderFor('CLIPLoader', 'clip_name')).toBe('models/text_encoders');
    expect(folderFor('SomePackLoader', 'weights')).toBe('models');
  });
});
