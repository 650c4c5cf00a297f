import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '../api/types';
import { type FlowNode, makeNode, nodeToFlow } from '../store/flowModel';
import { type NodeDefs, parseNodeInfo } from '../workflow/nodeDefs';
import { defs as fixtureDefs } from '../workflow/testUtil';
import { dropTargetId, imageTargetId, planPaste, workflowFromText } from './imagePaste';

const loadImageMask = {
  input: { required: { image: [['a.png'], { image_upload: true }], channel: [['alpha', 'red']] } },
  input_order: { required: ['image', 'channel'] },
  output: ['MASK'],
  output_is_list: [false],
  output_name: ['MASK'],
  name: 'LoadImageMask',
  display_name: 'Load Image (as Mask)',
  description: '',
  python_module: 'nodes',
  category: 'mask',
  output_node: false,
} as unknown as NodeInfo;

const defs: NodeDefs = { ...fixtureDefs, LoadImageMask: parseNodeInfo('LoadImageMask', loadImageMask) };

function flow(id: string, type: string, selected = false, converted: string[] = []): FlowNode {
  const node = { ...makeNode(defs[type], id, [0, 0]), converted };
  return { ...nodeToFlow(node), selected };
}

const png = new File([new Uint8Array([137, 80, 78, 71])], 'image.png', { type: 'image/png' });
const pdf = new File(['%PDF'], 'doc.pdf', { type: 'application/pdf' });
const uiWorkflow = { version: 0.4, nodes: [], links: [], extra: {}, last_node_id: 0 };
const apiPrompt = { '3': { class_type: 'KSampler', inputs: { seed: 1 } } };

describe('which node a pasted image goes into', () => {
  it('is the selected LoadImage node', () => {
    const nodes = [flow('1', 'KSampler'), flow('2', 'LoadImage', true)];
    expect(planPaste({ files: [png], text: '' }, nodes, defs)).toEqual({ kind: 'image', file: png, targetId: '2', subfolder: 'pasted' });
  });

  it('is any selected node with an image upload widget (LoadImageMask)', () => {
    expect(imageTargetId([flow('5', 'LoadImageMask', true)], defs)).toBe('5');
  });

  it('is a new LoadImage node when no image node is selected', () => {
    const nodes = [flow('1', 'LoadImage'), flow('2', 'KSampler', true)];
    expect(planPaste({ files: [png], text: '' }, nodes, defs)).toEqual({ kind: 'image', file: png, targetId: null, subfolder: 'pasted' });
    expect(planPaste({ files: [png], text: '' }, [], defs)).toMatchObject({ targetId: null });
  });

  it('is the topmost of several selected image nodes', () => {
    const nodes = [flow('1', 'LoadImage', true), flow('2', 'KSampler', true), flow('3', 'LoadImageMask', true)];
    expect(imageTargetId(nodes, defs)).toBe('3');
  });

  it('is not a node whose image widget was turned into an input', () => {
    expect(imageTargetId([flow('1', 'LoadImage', true, ['image'])], defs)).toBeNull();
  });

  it('wins over text in the same clipboard (an image copied from a web page also carries HTML/text)', () => {
    const plan = planPaste({ files: [png], text: JSON.stringify(uiWorkflow) }, [], defs);
    expect(plan.kind).toBe('image');
  });
});

describe('what a paste without an image does', () => {
  it('ignores clipboard files that are not images', () => {
    expect(planPaste({ files: [pdf], text: '' }, [flow('1', 'LoadImage', true)], defs)).toEqual({ kind: 'nodes' });
  });

  it('picks the image among other files', () => {
    expect(planPaste({ files: [pdf, png], text: '' }, [], defs)).toMatchObject({ kind: 'image', file: png });
  });

  it('opens a UI workflow or an API prompt pasted as text', () => {
    expect(planPaste({ files: [], text: JSON.stringify(uiWorkflow) }, [], defs)).toEqual({ kind: 'workflow', data: uiWorkflow });
    expect(planPaste({ files: [], text: JSON.stringify(apiPrompt) }, [], defs)).toEqual({ kind: 'workflow', data: apiPrompt });
  });

  it('pastes the copied nodes for other text', () => {
    for (const text of ['', 'a cat on a sofa', '{"not": "a workflow"}', '{broken', '[1, 2]', '{"version": 1, "nodes": []}']) {
      expect(planPaste({ files: [], text }, [], defs), text).toEqual({ kind: 'nodes' });
    }
  });
});

describe('workflow text', () => {
  it('starts at the first brace, as ComfyUI reads it', () => {
    expect(workflowFromText(`Here it is: ${JSON.stringify(uiWorkflow)}`)).toEqual(uiWorkflow);
  });

  it('is found after a "workflow" line (text copied from image metadata)', () => {
    const text = `prompt\n{"1": broken}\nworkflow\n${JSON.stringify(uiWorkflow)}`;
    expect(workflowFromText(text)).toEqual(uiWorkflow);
  });

  it('needs every API entry to be a node', () => {
    expect(workflowFromText(JSON.stringify({ ...apiPrompt, note: 'x' }))).toBeNull();
    expect(workflowFromText('{}')).toBeNull();
  });
});

describe('a file dropped on a node', () => {
  const nodes = [flow('1', 'LoadImage'), flow('2', 'KSampler')];

  it('goes into a LoadImage node when it is an image, selected or not', () => {
    expect(dropTargetId(png, '1', nodes, defs)).toBe('1');
  });

  it('is left to the canvas (open as workflow) on other nodes, off nodes, or when not an image', () => {
    expect(dropTargetId(png, '2', nodes, defs)).toBeNull();
    expect(dropTargetId(png, null, nodes, defs)).toBeNull();
    expect(dropTargetId(new File(['{}'], 'w.json', { type: 'application/json' }), '1', nodes, defs)).toBeNull();
  });
});
