import { describe, expect, it } from 'vitest';
import { parseNodeInfo, parseObjectInfo } from './nodeDefs';
import { normalizeNumber } from './numbers';
import { documentFromPng, PngError, pngTextChunks, workflowFromPng } from './png';
import { compatibleInput, fuzzyScore, searchNodes } from './search';
import { applyControlAfterGenerate, nextControlledValue } from './seedControl';
import { defs } from './testUtil';
import { typesCompatible } from './typeCompat';
import type { EditorNode } from './types';
import { pngChunk, pngOf } from './pngTestBytes';

describe('typesCompatible (same rule as the server)', () => {
  it.each([
    ['IMAGE', 'IMAGE', true],
    ['IMAGE', 'LATENT', false],
    ['*', 'LATENT', true],
    ['MODEL', '*', true],
    ['INT,FLOAT', 'FLOAT', true],
    ['INT', 'FLOAT,STRING', false],
    ['IMAGE,MASK', 'MASK,LATENT', true],
  ])('%s → %s: %s', (out, inp, ok) => expect(typesCompatible(out, inp)).toBe(ok));
});

describe('object_info parsing', () => {
  it('keeps input order, marks widgets, control and upload slots', () => {
    const ks = defs.KSampler;
    expect(ks.inputs.map((i) => i.name)).toEqual([
      'model',
      'seed',
      'steps',
      'cfg',
      'sampler_name',
      'scheduler',
      'positive',
      'negative',
      'latent_image',
      'denoise',
    ]);
    expect(ks.inputs.filter((i) => i.isWidget).map((i) => i.name)).toEqual([
      'seed',
      'steps',
      'cfg',
      'sampler_name',
      'scheduler',
      'denoise',
    ]);
    expect(ks.inputs.filter((i) => i.control).map((i) => i.name)).toEqual(['seed']);
    expect(defs.LoadImage.inputs[0]).toMatchObject({ type: 'COMBO', upload: true, choices: ['example.png', 'cat.png'] });
    expect(defs.SaveImage.outputNode).toBe(true);
    expect(defs.CheckpointLoaderSimple.displayName).toBe('Load Checkpoint');
  });

  it('reads V3 combos and forceInput', () => {
    const def = parseNodeInfo('X', {
      name: 'X',
      output: ['STRING'],
      input: { required: { mode: ['COMBO', { options: ['a', 'b'] }], n: ['INT', { forceInput: true }] } },
    });
    expect(def.inputs[0]).toMatchObject({ type: 'COMBO', choices: ['a', 'b'], isWidget: true });
    expect(def.inputs[1].isWidget).toBe(false);
  });

  it('skips malformed entries and names them', () => {
    const { defs: parsed, errors } = parseObjectInfo({
      Good: { name: 'Good', input: {}, output: [] },
      Bad: { name: 'Bad' } as never,
      BadInput: { name: 'BadInput', input: { required: { x: 5 as never } }, output: [] },
    });
    expect(Object.keys(parsed)).toEqual(['Good']);
    expect(errors).toEqual([
      'object_info["Bad"]: missing "input" or "output"',
      'object_info["BadInput"]: input "x": expected [type, options], got 5',
    ]);
  });
});

const chunk = pngChunk;
const png = pngOf;

const enc = (s: string) => new TextEncoder().encode(s);

describe('PNG workflow metadata', () => {
  it('reads tEXt and iTXt chunks and the embedded workflow', () => {
    const wf = { nodes: [], links: [], version: 0.4, note: 'é' };
    const file = png(chunk('tEXt', enc(`prompt\0{"1":{}}`)), chunk('iTXt', enc(`workflow\0\0\0\0\0${JSON.stringify(wf)}`)));
    expect(pngTextChunks(file).prompt).toBe('{"1":{}}');
    expect(workflowFromPng(file)).toEqual(wf);
  });

  it('returns null without a workflow and refuses non-PNG or truncated files', () => {
    expect(workflowFromPng(png())).toBeNull();
    expect(() => pngTextChunks(enc('GIF89a......'))).toThrow(PngError);
    const cut = png(chunk('tEXt', enc('workflow\0{}'))).slice(0, 46);
    expect(() => pngTextChunks(cut)).toThrow('runs past the end');
    expect(() => workflowFromPng(png(chunk('tEXt', enc('workflow\0{oops'))))).toThrow('not valid JSON');
  });

  it('opens the workflow when there is one, else the API prompt alone', () => {
    const prompt = { '1': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } } };
    const both = png(chunk('tEXt', enc(`prompt\0${JSON.stringify(prompt)}`)), chunk('tEXt', enc('workflow\0{"nodes":[]}')));
    expect(documentFromPng(both)).toEqual({ kind: 'workflow', data: { nodes: [] } });
    const promptOnly = png(chunk('tEXt', enc(`prompt\0${JSON.stringify(prompt)}`)));
    expect(documentFromPng(promptOnly)).toEqual({ kind: 'prompt', data: prompt });
    expect(documentFromPng(png())).toBeNull();
    expect(() => documentFromPng(png(chunk('tEXt', enc('prompt\0{oops'))))).toThrow('PNG "prompt" text is not valid JSON');
  });
});

describe('control_after_generate', () => {
  const opts = { min: 0, max: 10 };
  it.each([
    [5, 'fixed', 5],
    [5, 'increment', 6],
    [10, 'increment', 0],
    [5, 'decrement', 4],
    [0, 'decrement', 10],
  ])('%d after %s is %d', (v, c, next) => expect(nextControlledValue(v, c, opts)).toBe(next));

  it('randomizes within range', () => {
    expect(nextControlledValue(5, 'randomize', opts, () => 0.5)).toBe(5);
    expect(nextControlledValue(5, 'randomize', opts, () => 0.99)).toBe(9);
  });

  it('keeps random values of a 64-bit Int widget within ±2^50 (a primitive Int node)', () => {
    const int64 = { min: -9223372036854775807, max: 9223372036854775807, step: 1 };
    const limit = 2 ** 50;
    for (const r of [0, 0.25, 0.5, 0.999999]) {
      const v = nextControlledValue(0, 'randomize', int64, () => r) as number;
      expect(Number.isSafeInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(-limit);
      expect(v).toBeLessThan(limit);
    }
    const seed = { min: 0, max: 18446744073709551615 };
    expect(nextControlledValue(7, 'randomize', seed, () => 0)).toBe(0);
    expect(nextControlledValue(7, 'randomize', seed, () => 0.999999) as number).toBeLessThan(limit);
    expect(nextControlledValue(7, 'randomize', { min: 3, max: 3 }, () => 0.7)).toBe(3);
  });

  it('advances only controlled, unconverted widgets', () => {
    const base: EditorNode = {
      id: '1',
      type: 'KSampler',
      title: 'K',
      pos: [0, 0],
      mode: 0,
      widgets: { seed: 1, steps: 20 },
      controls: { seed: 'increment' },
      converted: [],
      properties: {},
    };
    expect(applyControlAfterGenerate([base], defs)[0].widgets).toEqual({ seed: 2, steps: 20 });
    const converted = { ...base, converted: ['seed'] };
    expect(applyControlAfterGenerate([converted], defs)[0]).toBe(converted);
  });
});

describe('node search', () => {
  it('scores substrings above scattered matches and refuses non-matches', () => {
    expect(fuzzyScore('ksam', 'KSampler')).toBeGreaterThan(fuzzyScore('ksam', 'Kurt Sample'));
    expect(fuzzyScore('xyz', 'KSampler')).toBe(-1);
  });

  it('finds nodes fuzzily and filters by socket type', () => {
    expect(searchNodes(defs, 'ksampler')[0].name).toBe('KSampler');
    expect(searchNodes(defs, 'empty lat')[0].name).toBe('EmptyLatentImage');
    const takesImage = searchNodes(defs, '', { side: 'input', type: 'IMAGE' })
      .map((d) => d.name)
      .sort();
    expect(takesImage).toEqual(['ImageInvert', 'SaveImage']);
    const givesLatent = searchNodes(defs, '', { side: 'output', type: 'LATENT' })
      .map((d) => d.name)
      .sort();
    expect(givesLatent).toEqual(['EmptyLatentImage', 'KSampler']);
    expect(compatibleInput(defs.KSampler, 'INT')?.name).toBe('seed');
  });
});

describe('number widget values', () => {
  const cfg = defs.KSampler.inputs.find((i) => i.name === 'cfg')!;
  const steps = defs.KSampler.inputs.find((i) => i.name === 'steps')!;
  const seed = defs.KSampler.inputs.find((i) => i.name === 'seed')!;
  it.each([
    [cfg, 7.123, 7.12],
    [cfg, 0.1 + 0.2, 0.3],
    [cfg, 250, 100],
    [cfg, -1, 0],
    [steps, 0, 1],
    [steps, 20.6, 21],
    [seed, 2 ** 60, Number.MAX_SAFE_INTEGER],
  ])('%#: %s → %s', (input, value, expected) => expect(normalizeNumber(value, input)).toBe(expected));
});
