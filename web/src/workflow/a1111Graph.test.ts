import { describe, expect, it } from 'vitest';
import { parseA1111Parameters } from './a1111';
import { a1111ToWorkflow, mapSampler, matchFileName } from './a1111Graph';
import { uiToEditor } from './fromUi';
import { defs } from './testUtil';
import { editorToPrompt } from './toPrompt';
import type { UiLinkArray, UiNode, UiWorkflow } from './types';

const CHECKPOINTS = ['sd15/v1-5-pruned-emaonly.safetensors', 'Anything-V5.ckpt', 'sd_xl_base_1.0.safetensors'];
const LORAS = ['detail_tweaker.safetensors', 'styles/film grain.safetensors'];

function build(text: string, choices = {}) {
  return a1111ToWorkflow(parseA1111Parameters(text), { checkpoints: CHECKPOINTS, loras: LORAS, ...choices }, 'fallback.safetensors');
}

const ofType = (wf: UiWorkflow, type: string) => wf.nodes.filter((n) => n.type === type);
const one = (wf: UiWorkflow, type: string) => {
  const nodes = ofType(wf, type);
  expect(nodes, type).toHaveLength(1);
  return nodes[0];
};
/** The node feeding `input` of `node`. */
function source(wf: UiWorkflow, node: UiNode, input: string): UiNode {
  const link = node.inputs!.find((i) => i.name === input)!.link;
  const row = (wf.links as UiLinkArray[]).find((l) => l[0] === link)!;
  return wf.nodes.find((n) => n.id === row[1])!;
}

describe('A1111 parameters to a graph', () => {
  it('builds txt2img whose API prompt carries the settings', () => {
    const { workflow, notes } = build(`a cat
Negative prompt: blurry
Steps: 25, Sampler: Euler a, CFG scale: 6.5, Seed: 99, Size: 512x768, Model: v1-5-pruned-emaonly, Batch size: 2`);
    expect(notes).toEqual([]);
    expect(workflow.nodes.map((n) => n.type)).toEqual([
      'CheckpointLoaderSimple',
      'CLIPTextEncode',
      'CLIPTextEncode',
      'EmptyLatentImage',
      'KSampler',
      'VAEDecode',
      'SaveImage',
    ]);
    const { graph, warnings } = uiToEditor(workflow, defs);
    expect(warnings).toEqual([]);
    const prompt = editorToPrompt(graph, defs);
    const byType = (t: string) => Object.values(prompt).filter((n) => n.class_type === t);
    expect(byType('CheckpointLoaderSimple')[0].inputs).toEqual({ ckpt_name: 'sd15/v1-5-pruned-emaonly.safetensors' });
    expect(byType('EmptyLatentImage')[0].inputs).toEqual({ width: 512, height: 768, batch_size: 2 });
    expect(byType('CLIPTextEncode').map((n) => n.inputs.text)).toEqual(['a cat', 'blurry']);
    expect(byType('KSampler')[0].inputs).toMatchObject({
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
    });
    expect(byType('VAEDecode')[0].inputs).toEqual({ samples: ['5', 0], vae: ['1', 2] });
    // Left to right: each stage starts right of the one it reads from.
    const x = (t: string) => (ofType(workflow, t)[0].pos as [number, number])[0];
    expect(x('CheckpointLoaderSimple') < x('CLIPTextEncode') && x('CLIPTextEncode') < x('KSampler')).toBe(true);
    expect(x('KSampler') < x('VAEDecode') && x('VAEDecode') < x('SaveImage')).toBe(true);
  });

  it('chains LoRA loaders from the prompt tags and sets CLIP skip', () => {
    const { workflow, notes } = build(`portrait <lora:detail_tweaker:0.8>, <lora:Film Grain:1.1:0.5> smiling <lora:gone:1>
Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1, Size: 512x512, Model: ANYTHING-v5, Clip skip: 2`);
    expect(notes).toEqual(['LoRA "gone" not found']);
    expect(one(workflow, 'CheckpointLoaderSimple').widgets_values).toEqual(['Anything-V5.ckpt']);
    const loras = ofType(workflow, 'LoraLoader');
    expect(loras.map((n) => n.widgets_values)).toEqual([
      ['detail_tweaker.safetensors', 0.8, 0.8],
      ['styles/film grain.safetensors', 0.5, 1.1],
      ['gone.safetensors', 1, 1],
    ]);
    expect(source(workflow, loras[0], 'model').type).toBe('CheckpointLoaderSimple');
    expect(source(workflow, loras[1], 'clip')).toBe(loras[0]);
    const skip = one(workflow, 'CLIPSetLastLayer');
    expect(skip.widgets_values).toEqual([-2]);
    expect(source(workflow, skip, 'clip')).toBe(loras[2]);
    const [positive, negative] = ofType(workflow, 'CLIPTextEncode');
    expect(positive.widgets_values).toEqual(['portrait, smiling']);
    expect(source(workflow, positive, 'clip')).toBe(skip);
    expect(source(workflow, negative, 'clip')).toBe(skip);
    const sampler = one(workflow, 'KSampler');
    expect(source(workflow, sampler, 'model')).toBe(loras[2]);
    expect(sampler.widgets_values).toEqual([1, 'fixed', 20, 7, 'dpmpp_2m', 'karras', 1]);
  });

  it('adds the hires fix as a latent upscale and a second sampler', () => {
    const { workflow, notes } = build(`a dragon
Steps: 20, Sampler: DDIM, CFG scale: 8, Seed: 5, Size: 512x512, Model: sd_xl_base_1.0, Denoising strength: 0.45, Hires upscale: 1.5, Hires steps: 10, Hires upscaler: Latent (nearest-exact)`);
    expect(notes).toEqual([]);
    const [first, second] = ofType(workflow, 'KSampler');
    expect(first.widgets_values).toEqual([5, 'fixed', 20, 8, 'ddim', 'ddim_uniform', 1]);
    expect(second.widgets_values).toEqual([5, 'fixed', 10, 8, 'ddim', 'ddim_uniform', 0.45]);
    const upscale = one(workflow, 'LatentUpscaleBy');
    expect(upscale.widgets_values).toEqual(['nearest-exact', 1.5]);
    expect(source(workflow, upscale, 'samples')).toBe(first);
    expect(source(workflow, second, 'latent_image')).toBe(upscale);
    expect(source(workflow, one(workflow, 'VAEDecode'), 'samples')).toBe(second);
    expect(workflow.links).toHaveLength(14);
  });

  it('upscales to "Hires resize" and reports an upscaler it cannot run', () => {
    const { workflow, notes } = build(`x
Steps: 12, Sampler: Euler, Seed: 3, Size: 512x512, Hires resize: 1024x768, Hires steps: 0, Hires upscaler: R-ESRGAN 4x+`);
    expect(one(workflow, 'LatentUpscale').widgets_values).toEqual(['nearest-exact', 1024, 768, 'disabled']);
    expect(ofType(workflow, 'KSampler')[1].widgets_values).toEqual([3, 'fixed', 12, 7, 'euler', 'normal', 0.7]);
    expect(notes).toEqual(['hires upscaler "R-ESRGAN 4x+" (latent upscale used)']);
  });

  it('keeps a checkpoint it cannot find and lists what it could not map', () => {
    const { workflow, notes } = build(`x
Steps: 20, Sampler: Restart, Seed: 3, Size: 512x512, Model: mystery, Face restoration: CodeFormer, Version: v1.9, VAE: nope.pt`);
    expect(one(workflow, 'CheckpointLoaderSimple').widgets_values).toEqual(['mystery']);
    expect(one(workflow, 'KSampler').widgets_values).toEqual([3, 'fixed', 20, 7, 'euler', 'normal', 1]);
    expect(notes).toEqual([
      'checkpoint "mystery" not found',
      `VAE "nope.pt" not found (the checkpoint's VAE used)`,
      'sampler "Restart" (euler used)',
      'not mapped: Face restoration',
    ]);
  });

  it('uses the fallback checkpoint without a Model, and a VAE the server has', () => {
    const { workflow } = a1111ToWorkflow(parseA1111Parameters('x\nSteps: 2, Seed: 1, VAE: kl-f8'), {
      vaes: ['kl-f8.safetensors'],
    });
    expect(one(workflow, 'CheckpointLoaderSimple').widgets_values).toEqual(['model.safetensors']);
    const vae = one(workflow, 'VAELoader');
    expect(vae.widgets_values).toEqual(['kl-f8.safetensors']);
    expect(source(workflow, one(workflow, 'VAEDecode'), 'vae')).toBe(vae);
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
