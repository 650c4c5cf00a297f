import { describe, expect, it } from 'vitest';
import { DEMO_CHECKPOINT, defaultCheckpoint, defaultWorkflow } from './defaultGraph';

const widgets = (type: string, wf = defaultWorkflow(DEMO_CHECKPOINT)) =>
  wf.nodes.filter((n) => n.type === type).map((n) => n.widgets_values);

describe('default workflow', () => {
  it('prefers the embedded demo model when it is installed', () => {
    expect(defaultCheckpoint(['a.safetensors', DEMO_CHECKPOINT])).toBe(DEMO_CHECKPOINT);
    expect(defaultCheckpoint(['a.safetensors', 'b.ckpt'])).toBe('a.safetensors');
    expect(defaultCheckpoint(undefined)).toBeUndefined();
    expect(defaultCheckpoint([3, 'x.safetensors'])).toBe('x.safetensors');
  });

  it('uses the settings the demo model was trained and measured with', () => {
    expect(widgets('CheckpointLoaderSimple')).toEqual([[DEMO_CHECKPOINT]]);
    expect(widgets('EmptyLatentImage')).toEqual([[64, 64, 1]]);
    const [sampler] = widgets('KSampler');
    expect((sampler as unknown[]).slice(2)).toEqual([20, 6, 'euler', 'normal', 1]);
    expect(widgets('CLIPTextEncode')[0]).toEqual(['a large red star on a blue background, center']);
  });

  it('keeps ComfyUI-like defaults for other checkpoints', () => {
    const wf = defaultWorkflow('v1-5-pruned-emaonly.safetensors');
    expect(widgets('EmptyLatentImage', wf)).toEqual([[512, 512, 1]]);
    expect(widgets('CLIPTextEncode', wf)[1]).toEqual(['text, watermark']);
  });

  it('returns a fresh copy each time', () => {
    const a = defaultWorkflow(DEMO_CHECKPOINT);
    (a.nodes[0].widgets_values as unknown[])[0] = 'changed';
    expect(widgets('CheckpointLoaderSimple')).toEqual([[DEMO_CHECKPOINT]]);
  });
});
