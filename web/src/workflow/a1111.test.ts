import { describe, expect, it } from 'vitest';
import { extractLoras, parseA1111Parameters, parseSettingsLine, parseSize } from './a1111';
import { documentFromPng, pngTextChunks } from './png';
import { pngChunk, pngOf } from './pngTestBytes';

const SIMPLE = `a photo of a cat, best quality
Negative prompt: blurry, lowres
Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234567890, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.6.0`;

const MULTILINE = `masterpiece, (a castle:1.2) on a hill,
sunset sky
dramatic light
Negative prompt: text, watermark,
bad hands
Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 5.5, Seed: 42, Size: 1024x1024, Model: sd_xl_base_1.0, Clip skip: 2, Batch size: 4`;

const QUOTED = `portrait <lora:detail_tweaker:0.8>, <lora:Film Grain:1.1:0.5> smiling
Steps: 25, Sampler: DPM++ SDE Karras, CFG scale: 6, Seed: 7, Size: 640x640, Model: realistic, Lora hashes: "detail_tweaker: 3b1a7, Film Grain: 99ff", ADetailer prompt: "face, \\"sharp\\" eyes", VAE: vae-ft-mse-840000-ema-pruned.safetensors`;

const HIRES = `a dragon
Negative prompt:
Steps: 20, Sampler: DDIM, CFG scale: 8, Seed: 5, Size: 512x512, Model: anything-v5, Denoising strength: 0.45, Hires upscale: 1.5, Hires steps: 10, Hires upscaler: Latent (nearest-exact)`;

describe('A1111 parameters text', () => {
  it('reads a simple single-line prompt, the negative prompt and the settings', () => {
    const p = parseA1111Parameters(SIMPLE);
    expect(p.positive).toBe('a photo of a cat, best quality');
    expect(p.negative).toBe('blurry, lowres');
    expect(p).toMatchObject({
      steps: 20,
      sampler: 'Euler a',
      cfg: 7,
      seed: 1234567890,
      width: 512,
      height: 768,
      model: 'v1-5-pruned-emaonly',
      modelHash: '6ce0161689',
    });
    expect(p.settings.Version).toBe('v1.6.0');
  });

  it('keeps multi-line positive and negative prompts, colons inside prompts included', () => {
    const p = parseA1111Parameters(MULTILINE);
    expect(p.positive).toBe('masterpiece, (a castle:1.2) on a hill,\nsunset sky\ndramatic light');
    expect(p.negative).toBe('text, watermark,\nbad hands');
    expect(p).toMatchObject({ sampler: 'DPM++ 2M', scheduleType: 'Karras', cfg: 5.5, clipSkip: 2, batchSize: 4 });
    expect(p.width).toBe(1024);
  });

  it('reads quoted values with commas and escaped quotes inside', () => {
    const p = parseA1111Parameters(QUOTED);
    expect(p.settings['Lora hashes']).toBe('detail_tweaker: 3b1a7, Film Grain: 99ff');
    expect(p.settings['ADetailer prompt']).toBe('face, "sharp" eyes');
    expect(p.vae).toBe('vae-ft-mse-840000-ema-pruned.safetensors');
    expect(p.negative).toBe('');
    expect(p.positive).toContain('<lora:detail_tweaker:0.8>');
  });

  it('reads the hires fix settings and an empty negative prompt', () => {
    const p = parseA1111Parameters(HIRES);
    expect(p).toMatchObject({ denoise: 0.45, hiresUpscale: 1.5, hiresSteps: 10, hiresUpscaler: 'Latent (nearest-exact)' });
    expect(p.negative).toBe('');
    expect(p.positive).toBe('a dragon');
    const resized = parseA1111Parameters('x\nSteps: 20, Size: 512x512, Hires resize: 1024x768, Hires steps: 0');
    expect([resized.hiresWidth, resized.hiresHeight, resized.hiresSteps]).toEqual([1024, 768, 0]);
  });

  it('takes text without a settings line as the prompt, and CRLF line ends', () => {
    expect(parseA1111Parameters('just a prompt: with a colon')).toEqual({
      positive: 'just a prompt: with a colon',
      negative: '',
      settings: {},
    });
    const p = parseA1111Parameters('cat\r\nNegative prompt: dog\r\nSteps: 3, Seed: 9, Sampler: Euler');
    expect([p.positive, p.negative, p.steps, p.seed]).toEqual(['cat', 'dog', 3, 9]);
  });

  it('splits settings lines and refuses lines that are not one', () => {
    expect(parseSettingsLine('Steps: 20, Sampler: Euler a, Size: 8x8')).toEqual([
      ['Steps', '20'],
      ['Sampler', 'Euler a'],
      ['Size', '8x8'],
    ]);
    expect(parseSettingsLine('a cat, (detailed:1.2)')).toBeNull();
    expect(parseSettingsLine('Note: "unclosed, quote')).toBeNull();
    expect(parseSize('640 x 480')).toEqual([640, 480]);
    expect(parseSize('big')).toBeUndefined();
  });
});

describe('LoRA tags', () => {
  it('takes the tags out of the prompt with their weights', () => {
    const { text, loras } = extractLoras('portrait <lora:detail_tweaker:0.8>, <lora:Film Grain:1.1:0.5> smiling <lora:x>');
    expect(text).toBe('portrait, smiling');
    expect(loras).toEqual([
      { name: 'detail_tweaker', te: 0.8, unet: 0.8 },
      { name: 'Film Grain', te: 1.1, unet: 0.5 },
      { name: 'x', te: 1, unet: 1 },
    ]);
  });

  it('leaves prompts without tags as they are', () => {
    expect(extractLoras('a,  b ,c')).toEqual({ text: 'a,  b ,c', loras: [] });
    expect(extractLoras('<lora:only:0.5>')).toEqual({ text: '', loras: [{ name: 'only', te: 0.5, unet: 0.5 }] });
  });
});

/** A PNG of (type, body) chunks. */
const png = (...chunks: [string, Uint8Array][]) => pngOf(...chunks.map(([type, body]) => pngChunk(type, body)));

describe('PNG parameters chunk', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('opens the parameters text only when there is no ComfyUI workflow or prompt', () => {
    const a1111 = png(['tEXt', enc(`parameters\0${SIMPLE}`)]);
    expect(documentFromPng(a1111)).toEqual({ kind: 'parameters', data: SIMPLE });
    const both = png(['tEXt', enc(`parameters\0${SIMPLE}`)], ['tEXt', enc('workflow\0{"nodes":[]}')]);
    expect(documentFromPng(both)).toEqual({ kind: 'workflow', data: { nodes: [] } });
    expect(documentFromPng(png(['tEXt', enc('parameters\0  ')]))).toBeNull();
  });

  it('reads iTXt parameters and Latin-1 tEXt (what Pillow writes for non-ASCII Latin-1 text)', () => {
    const itxt = png(['iTXt', enc(`parameters\0\0\0\0\0a café ☕\nSteps: 2`)]);
    expect(documentFromPng(itxt)).toEqual({ kind: 'parameters', data: 'a café ☕\nSteps: 2' });
    const latin1 = new Uint8Array([...enc('parameters\0caf'), 0xe9]);
    expect(pngTextChunks(png(['tEXt', latin1])).parameters).toBe('café');
  });
});
