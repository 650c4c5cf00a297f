import { describe, expect, it } from 'vitest';
import type { ApiNode, ApiPrompt } from '../api/types';
import { parseA1111Parameters } from './a1111';
import { a1111ToPrompt, mapSampler, matchFileName } from './a1111Graph';
import { apiToEditor } from './fromApi';
import { defs } from './testUtil';
import { editorToPrompt } from './toPrompt';

const CHECKPOINTS = ['sd15/v1-5-pruned-emaonly.safetensors', 'Anything-V5.ckpt', 'sd_xl_base_1.0.safetensors'];
const LORAS = ['detail_tweaker.safetensors', 'styles/film grain.safetensors'];

function build(text: string, choices = {}) {
  return a1111ToPrompt(parseA1111Parameters(text), { checkpoints: CHECKPOINTS, loras: LORAS, ...choices }, 'fallback.safetensors');
}

const ofType = (prompt: ApiPrompt, type: string) => Object.values(prompt).filter((n) => n.class_type === type);
const one = (prompt: ApiPrompt, type: string) => {
  const nodes = ofType(prompt, type);
  expect(nodes, type).toHaveLength(1);
  return nodes[0];
};
/** The node feeding `input` of `node`. */
const source = (prompt: ApiPrompt, node: ApiNode, input: string) => prompt[(node.inputs[input] as [string, number])[0]];

describe('A1111 parameters to a prompt', () => {
  it('builds txt2img that opens in the editor with the settings', () => {
    const { prompt, notes } = build(`a cat
Negative prompt: blurry
Steps: 25, Sampler: Euler a, CFG scale: 6.5, Seed: 99, Size: 512x768, Model: v1-5-pruned-emaonly, Batch size: 2`);
    expect(notes).toEqual([]);
    expect(prompt).toEqual({
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd15/v1-5-pruned-emaonly.safetensors' } },
      '2': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['1', 1] } },
      '3': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['1', 1] } },
      '4': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 768, batch_size: 2 } },
      '5': {
        class_type: 'KSampler',
        inputs: {
          seed: 99,
          steps: 25,
          cfg: 6.5,
          sampler_name: 'euler_ancestral',
          scheduler: 'normal',
          denoise: 1,
          model: ['1', 0],
          positive: ['2', 0],
          negative: ['3', 0],
          latent_image: ['4', 0],
        },
      },
      '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
      '7': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['6', 0] } },
    });
    // Every input name is one the node takes: the editor opens it without warnings and queues it unchanged.
    const { graph, warnings, missingTypes } = apiToEditor(prompt, defs);
    expect([warnings, missingTypes]).toEqual([[], []]);
    const queued = editorToPrompt(graph, defs);
    for (const [id, node] of Object.entries(prompt)) expect(queued[id].inputs, node.class_type).toEqual(node.inputs);
    expect(graph.nodes.find((n) => n.type === 'KSampler')!.controls.seed).toBe('fixed'); // the image is reproducible
  });

  it('chains LoRA loaders from the prompt tags and sets CLIP skip', () => {
    const { prompt, notes } = build(`portrait <lora:detail_tweaker:0.8>, <lora:Film Grain:1.1:0.5> smiling <lora:gone:1>
Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1, Size: 512x512, Model: ANYTHING-v5, Clip skip: 2`);
    expect(notes).toEqual(['LoRA "gone" not found']);
    expect(one(prompt, 'CheckpointLoaderSimple').inputs.ckpt_name).toBe('Anything-V5.ckpt');
    const loras = ofType(prompt, 'LoraLoader');
    expect(loras.map((n) => [n.inputs.lora_name, n.inputs.strength_model, n.inputs.strength_clip])).toEqual([
      ['detail_tweaker.safetensors', 0.8, 0.8],
      ['styles/film grain.safetensors', 0.5, 1.1],
      ['gone.safetensors', 1, 1],
    ]);
    expect(source(prompt, loras[0], 'model').class_type).toBe('CheckpointLoaderSimple');
    expect(source(prompt, loras[1], 'clip')).toBe(loras[0]);
    const skip = one(prompt, 'CLIPSetLastLayer');
    expect(skip.inputs.stop_at_clip_layer).toBe(-2);
    expect(source(prompt, skip, 'clip')).toBe(loras[2]);
    const [positive, negative] = ofType(prompt, 'CLIPTextEncode');
    expect(positive.inputs.text).toBe('portrait, smiling');
    expect(source(prompt, positive, 'clip')).toBe(skip);
    expect(source(prompt, negative, 'clip')).toBe(skip);
    const sampler = one(prompt, 'KSampler');
    expect(source(prompt, sampler, 'model')).toBe(loras[2]);
    expect(sampler.inputs).toMatchObject({ seed: 1, steps: 20, cfg: 7, sampler_name: 'dpmpp_2m', scheduler: 'karras' });
    expect(apiToEditor(prompt, defs).warnings).toEqual([]);
  });

  it('adds the hires fix as a latent upscale and a second sampler', () => {
    const { prompt, notes } = build(`a dragon
Steps: 20, Sampler: DDIM, CFG scale: 8, Seed: 5, Size: 512x512, Model: sd_xl_base_1.0, Denoising strength: 0.45, Hires upscale: 1.5, Hires steps: 10, Hires upscaler: Latent (nearest-exact)`);
    expect(notes).toEqual([]);
    const [first, second] = ofType(prompt, 'KSampler');
    const settings = (n: ApiNode) => [
      n.inputs.seed,
      n.inputs.steps,
      n.inputs.cfg,
      n.inputs.sampler_name,
      n.inputs.scheduler,
      n.inputs.denoise,
    ];
    expect(settings(first)).toEqual([5, 20, 8, 'ddim', 'ddim_uniform', 1]);
    expect(settings(second)).toEqual([5, 10, 8, 'ddim', 'ddim_uniform', 0.45]);
    const upscale = one(prompt, 'LatentUpscaleBy');
    expect([upscale.inputs.upscale_method, upscale.inputs.scale_by]).toEqual(['nearest-exact', 1.5]);
    expect(source(prompt, upscale, 'samples')).toBe(first);
    expect(source(prompt, second, 'latent_image')).toBe(upscale);
    expect(source(prompt, one(prompt, 'VAEDecode'), 'samples')).toBe(second);
    expect(apiToEditor(prompt, defs).warnings).toEqual([]);
  });

  it('upscales to "Hires resize" and reports an upscaler it cannot run', () => {
    const { prompt, notes } = build(`x
Steps: 12, Sampler: Euler, Seed: 3, Size: 512x512, Hires resize: 1024x768, Hires steps: 0, Hires upscaler: R-ESRGAN 4x+`);
    expect(one(prompt, 'LatentUpscale').inputs).toMatchObject({
      upscale_method: 'nearest-exact',
      width: 1024,
      height: 768,
      crop: 'disabled',
    });
    expect(ofType(prompt, 'KSampler')[1].inputs).toMatchObject({ steps: 12, denoise: 0.7 });
    expect(notes).toEqual(['hires upscaler "R-ESRGAN 4x+" (latent upscale used)']);
  });

  it('keeps a checkpoint it cannot find and lists what it could not map', () => {
    const { prompt, notes } = build(`x
Steps: 20, Sampler: Restart, Seed: 3, Size: 512x512, Model: mystery, Face restoration: CodeFormer, Version: v1.9, VAE: nope.pt`);
    expect(one(prompt, 'CheckpointLoaderSimple').inputs.ckpt_name).toBe('mystery');
    expect(one(prompt, 'KSampler').inputs).toMatchObject({ sampler_name: 'euler', scheduler: 'normal' });
    expect(ofType(prompt, 'VAELoader')).toEqual([]);
    expect(notes).toEqual([
      'checkpoint "mystery" not found',
      `VAE "nope.pt" not found (the checkpoint's VAE used)`,
      'sampler "Restart" (euler used)',
      'not mapped: Face restoration',
    ]);
  });

  it('uses the fallback checkpoint without a Model, and a VAE the server has', () => {
    const { prompt } = a1111ToPrompt(parseA1111Parameters('x\nSteps: 2, Seed: 1, VAE: kl-f8'), {
      vaes: ['kl-f8.safetensors'],
    });
    expect(one(prompt, 'CheckpointLoaderSimple').inputs.ckpt_name).toBe('model.safetensors');
    const vae = one(prompt, 'VAELoader');
    expect(vae.inputs.vae_name).toBe('kl-f8.safetensors');
    expect(source(prompt, one(prompt, 'VAEDecode'), 'vae')).toBe(vae);
  });

  it('notes a mapped sampler the server does not offer', () => {
    const { notes } = build('x\nSteps: 2, Sampler: UniPC', { samplers: ['euler'], schedulers: ['normal'] });
    expect(notes).toEqual(['sampler uni_pc is not on this server']);
  });
});

describe('sampler and file name mapping', () => {
  it.each([
    ['Euler a', undefined, 'euler_ancestral', 'normal'],
    ['Euler', undefined, 'euler', 'normal'],
    ['DPM++ 2M Karras', undefined, 'dpmpp_2m', 'karras'],
    ['DPM++ SDE Karras', undefined, 'dpmpp_sde', 'karras'],
    ['DPM++ 2M SDE', undefined, 'dpmpp_2m_sde', 'normal'],
    ['DPM++ 2M SDE Exponential', undefined, 'dpmpp_2m_sde', 'exponential'],
    ['DDIM', undefined, 'ddim', 'ddim_uniform'],
    ['UniPC', undefined, 'uni_pc', 'normal'],
    ['LMS', undefined, 'lms', 'normal'],
    ['Heun', undefined, 'heun', 'normal'],
    ['DPM2 a', undefined, 'dpm_2_ancestral', 'normal'],
    ['DPM adaptive', undefined, 'dpm_adaptive', 'normal'],
    ['DPM++ 2M', 'Karras', 'dpmpp_2m', 'karras'],
    ['Euler', 'Exponential', 'euler', 'exponential'],
    ['Euler', 'SGM Uniform', 'euler', 'sgm_uniform'],
    ['Euler a', 'Automatic', 'euler_ancestral', 'normal'],
  ])('%s / %s → %s + %s', (a1111, schedule, sampler, scheduler) => {
    expect(mapSampler(a1111, schedule)).toEqual({ sampler, scheduler, unmapped: [] });
  });

  it('falls back to euler / normal and says so', () => {
    expect(mapSampler('Restart', 'Align Your Steps')).toEqual({
      sampler: 'euler',
      scheduler: 'normal',
      unmapped: ['sampler "Restart" (euler used)', 'schedule type "Align Your Steps"'],
    });
  });

  it('matches file stems exactly first, then ignoring case', () => {
    expect(matchFileName('model', ['Model.safetensors', 'model.ckpt'])).toBe('model.ckpt');
    expect(matchFileName('MODEL', ['a/Model.safetensors'])).toBe('a/Model.safetensors');
    expect(matchFileName('model.safetensors', ['sub\\model.safetensors'])).toBe('sub\\model.safetensors');
    expect(matchFileName('other', ['model.safetensors'])).toBeUndefined();
    expect(matchFileName('x', undefined)).toBeUndefined();
  });
});
