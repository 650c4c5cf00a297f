import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../api/types';
import { parseObjectInfo } from '../workflow/nodeDefs';
import { loaderFor, MODEL_LOADERS } from './modelLoaders';
import { filterModels } from './modelFiles';

const loader = (input: string) => ({ input: { required: { [input]: [['a.safetensors']] } }, output: ['MODEL'], name: '' });
const installed = (names: Record<string, string>) =>
  parseObjectInfo(Object.fromEntries(Object.entries(names).map(([n, i]) => [n, loader(i)])) as unknown as ObjectInfo).defs;

describe('model folder → loader node', () => {
  const every = installed(Object.fromEntries(Object.values(MODEL_LOADERS).flatMap((list) => list.map((l) => [l.nodeType, l.input]))));

  it.each([
    ['checkpoints', 'CheckpointLoaderSimple', 'ckpt_name'],
    ['loras', 'LoraLoader', 'lora_name'],
    ['vae', 'VAELoader', 'vae_name'],
    ['controlnet', 'ControlNetLoader', 'control_net_name'],
    ['upscale_models', 'UpscaleModelLoader', 'model_name'],
    ['clip_vision', 'CLIPVisionLoader', 'clip_name'],
    ['style_models', 'StyleModelLoader', 'style_model_name'],
    ['gligen', 'GLIGENLoader', 'gligen_name'],
    ['hypernetworks', 'HypernetworkLoader', 'hypernetwork_name'],
    ['unet', 'UNETLoader', 'unet_name'],
    ['diffusion_models', 'UNETLoader', 'unet_name'],
    ['clip', 'CLIPLoader', 'clip_name'],
    ['text_encoders', 'CLIPLoader', 'clip_name'],
    ['checkpoints/sdxl', 'CheckpointLoaderSimple', 'ckpt_name'],
  ])('%s files load with %s (%s)', (folder, nodeType, input) => {
    expect(loaderFor(folder, every)).toEqual({ nodeType, input });
  });

  it.each(['vae_approx', 'embeddings', 'configs', 'custom_folder'])('%s has no loader', (folder) => {
    expect(loaderFor(folder, every)).toBeNull();
  });

  it('takes the next loader when the preferred one is not installed, none when no loader is', () => {
    expect(loaderFor('loras', installed({ LoraLoaderModelOnly: 'lora_name' }))).toEqual({
      nodeType: 'LoraLoaderModelOnly',
      input: 'lora_name',
    });
    expect(loaderFor('vae', installed({}))).toBeNull();
    // installed under that name but without the file input: not a loader we can fill in
    expect(loaderFor('vae', installed({ VAELoader: 'something_else' }))).toBeNull();
  });
});

describe('the model filter', () => {
  const folders = [
    { key: 'checkpoints', files: ['latentgraph-demo.safetensors', 'sdxl/base.safetensors'] },
    { key: 'loras', files: ['style.safetensors'] },
    { key: 'vae', files: [] },
  ];
  it('keeps matching files, whole folders whose name matches, and drops the rest', () => {
    expect(filterModels(folders, '')).toBe(folders);
    expect(filterModels(folders, 'SDXL')).toEqual([{ key: 'checkpoints', files: ['sdxl/base.safetensors'] }]);
    expect(filterModels(folders, 'lora')).toEqual([folders[1]]);
    expect(filterModels(folders, 'nothing')).toEqual([]);
  });
});
