import { describe, expect, it } from 'vitest';
import type { ApiNode, ApiPrompt } from '../api/types';
import { parseA1111Parameters } from './a1111';
import { a1111Mode, a1111ToPrompt, img2imgSteps } from './a1111Graph';

const ofType = (prompt: ApiPrompt, type: string) => Object.values(prompt).filter((n) => n.class_type === type);
const source = (prompt: ApiPrompt, node: ApiNode, input: string) => prompt[(node.inputs[input] as [string, number])[0]];

const IMG2IMG = `a castle at dusk
Negative prompt: lowres
Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 11, Size: 64x64, Model: demo, Denoising strength: 0.55`;

describe('A1111 img2img and inpaint parameters', () => {
  it('tells txt2img, img2img and inpaint apart', () => {
    const mode = (settings: string) => a1111Mode(parseA1111Parameters(`x\nSteps: 20, ${settings}`));
    expect(mode('Seed: 1')).toBe('txt2img');
    expect(mode('Denoising strength: 0.5')).toBe('img2img');
    expect(mode('Denoising strength: 0.5, Hires upscale: 2')).toBe('txt2img');
    expect(mode('Denoising strength: 0.5, Hires steps: 4')).toBe('txt2img');
    expect(mode('Denoising strength: 0.75, Mask blur: 4')).toBe('inpaint');
  });

  it('runs the last int(denoise × steps) steps, as A1111 does', () => {
    expect(img2imgSteps(20, 0.55)).toBe(11);
    expect(img2imgSteps(20, 0.5)).toBe(10);
    expect(img2imgSteps(20, 1)).toBe(19);
    expect(img2imgSteps(4, 0.1)).toBe(1);
  });

  it('starts from the uploaded image: LoadImage → VAEEncode → KSampler with the denoise', () => {
    const { prompt, notes } = a1111ToPrompt(parseA1111Parameters(IMG2IMG), { checkpoints: ['demo.safetensors'] }, 'x', 'castle.jpg');
    expect(notes).toEqual([]);
    expect(ofType(prompt, 'EmptyLatentImage')).toEqual([]);
    const [load] = ofType(prompt, 'LoadImage');
    expect(load.inputs).toEqual({ image: 'castle.jpg' });
    const [encode] = ofType(prompt, 'VAEEncode');
    expect(source(prompt, encode, 'pixels')).toBe(load);
    expect(source(prompt, encode, 'vae')).toBe(ofType(prompt, 'CheckpointLoaderSimple')[0]);
    const samplers = ofType(prompt, 'KSampler');
    expect(samplers).toHaveLength(1);
    expect(samplers[0].inputs).toMatchObject({ seed: 11, steps: 11, denoise: 0.55, sampler_name: 'euler_ancestral' });
    expect(source(prompt, samplers[0], 'latent_image')).toBe(encode);
    expect(source(prompt, ofType(prompt, 'VAEDecode')[0], 'samples')).toBe(samplers[0]);
  });

  it('reports inpainting and a batch it cannot convert, and keeps listing unmapped keys', () => {
    const text = `${IMG2IMG}, Mask blur: 4, Inpaint area: Only masked, Batch size: 2`;
    const { prompt, notes } = a1111ToPrompt(parseA1111Parameters(text), { checkpoints: ['demo.safetensors'] });
    expect(ofType(prompt, 'LoadImage')[0].inputs.image).toBe('');
    expect(notes).toEqual([
      'inpainting (Mask blur: 4) not converted: no mask in the file, the whole image is redone',
      'batch size 2 (img2img of one image)',
      'not mapped: Inpaint area',
    ]);
  });
});
