/** The txt2img graph shown on first start (same shape as ComfyUI's default graph). */
import type { UiWorkflow } from './types';

/** The embedded model trained by the project (models/checkpoints/, see its model card). */
export const DEMO_CHECKPOINT = 'latentgraph-demo.safetensors';

/** Widget values that suit a checkpoint: the demo model was trained at 64x64 on captions such
 * as "a large red star on a blue background, center" and measured with euler, 20 steps, CFG 6. */
function presetFor(checkpoint: string) {
  if (checkpoint === DEMO_CHECKPOINT) {
    return {
      positive: 'a large red star on a blue background, center',
      negative: '',
      latent: [64, 64, 1],
      sampler: [42, 'randomize', 20, 6, 'euler', 'normal', 1],
    };
  }
  return {
    positive: 'beautiful scenery nature glass bottle landscape, purple galaxy bottle',
    negative: 'text, watermark',
    latent: [512, 512, 1],
    sampler: [156680208700286, 'randomize', 20, 8, 'euler', 'normal', 1],
  };
}

/** The checkpoint the default workflow should use: the demo model when installed, else the first. */
export function defaultCheckpoint(choices: readonly unknown[] | undefined): string | undefined {
  const names = (choices ?? []).filter((c): c is string => typeof c === 'string');
  return names.includes(DEMO_CHECKPOINT) ? DEMO_CHECKPOINT : names[0];
}

/** A fresh copy of the default UI workflow; `checkpoint` fills CheckpointLoaderSimple's combo. */
export function defaultWorkflow(checkpoint = 'model.safetensors'): UiWorkflow {
  const preset = presetFor(checkpoint);
  const slot = (name: string, type: string, link: number | null) => ({ name, type, link });
  const out = (name: string, type: string, links: number[]) => ({ name, type, links });
  return {
    last_node_id: 9,
    last_link_id: 9,
    nodes: [
      {
        id: 4,
        type: 'CheckpointLoaderSimple',
        pos: [30, 300],
        size: [315, 100],
        mode: 0,
        inputs: [],
        outputs: [out('MODEL', 'MODEL', [1]), out('CLIP', 'CLIP', [3, 5]), out('VAE', 'VAE', [8])],
        widgets_values: [checkpoint],
      },
      {
        id: 6,
        type: 'CLIPTextEncode',
        pos: [420, 160],
        size: [420, 160],
        mode: 0,
        inputs: [slot('clip', 'CLIP', 3)],
        outputs: [out('CONDITIONING', 'CONDITIONING', [4])],
        widgets_values: [preset.positive],
      },
      {
        id: 7,
        type: 'CLIPTextEncode',
        pos: [420, 380],
        size: [420, 160],
        mode: 0,
        inputs: [slot('clip', 'CLIP', 5)],
        outputs: [out('CONDITIONING', 'CONDITIONING', [6])],
        widgets_values: [preset.negative],
      },
      {
        id: 5,
        type: 'EmptyLatentImage',
        pos: [480, 600],
        size: [315, 110],
        mode: 0,
        inputs: [],
        outputs: [out('LATENT', 'LATENT', [2])],
        widgets_values: preset.latent,
      },
      {
        id: 3,
        type: 'KSampler',
        pos: [900, 180],
        size: [315, 470],
        mode: 0,
        inputs: [
          slot('model', 'MODEL', 1),
          slot('positive', 'CONDITIONING', 4),
          slot('negative', 'CONDITIONING', 6),
          slot('latent_image', 'LATENT', 2),
        ],
        outputs: [out('LATENT', 'LATENT', [7])],
        widgets_values: preset.sampler,
      },
      {
        id: 8,
        type: 'VAEDecode',
        pos: [1270, 180],
        size: [210, 50],
        mode: 0,
        inputs: [slot('samples', 'LATENT', 7), slot('vae', 'VAE', 8)],
        outputs: [out('IMAGE', 'IMAGE', [9])],
        widgets_values: [],
      },
      {
        id: 9,
        type: 'SaveImage',
        pos: [1520, 180],
        size: [320, 300],
        mode: 0,
        inputs: [slot('images', 'IMAGE', 9)],
        outputs: [],
        widgets_values: ['ComfyUI'],
      },
    ],
    links: [
      [1, 4, 0, 3, 0, 'MODEL'],
      [2, 5, 0, 3, 3, 'LATENT'],
      [3, 4, 1, 6, 0, 'CLIP'],
      [4, 6, 0, 3, 1, 'CONDITIONING'],
      [5, 4, 1, 7, 0, 'CLIP'],
      [6, 7, 0, 3, 2, 'CONDITIONING'],
      [7, 3, 0, 8, 0, 'LATENT'],
      [8, 4, 2, 8, 1, 'VAE'],
      [9, 8, 0, 9, 0, 'IMAGE'],
    ],
    groups: [],
    config: {},
    extra: {},
    version: 0.4,
  };
}
