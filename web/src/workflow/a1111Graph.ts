/**
 * Builds the UI-format txt2img graph (the shape of the default workflow) from parsed A1111
 * parameters: checkpoint → LoRA chain → CLIP skip → prompts → empty latent → KSampler → optional
 * hires fix (latent upscale + second KSampler) → VAEDecode → SaveImage, laid out left to right.
 * File names are matched against the server's lists; `notes` names what could not be mapped.
 */
import { extractLoras, MAPPED_KEYS, type A1111Params } from './a1111';
import type { UiInputSlot, UiLinkArray, UiNode, UiOutputSlot, UiWorkflow } from './types';

/** The server's choices the import matches names against (any may be missing). */
export interface A1111Choices {
  checkpoints?: readonly unknown[];
  loras?: readonly unknown[];
  vaes?: readonly unknown[];
  samplers?: readonly unknown[];
  schedulers?: readonly unknown[];
  upscaleMethods?: readonly unknown[];
}

const A1111_SAMPLERS: Record<string, string> = {
  'euler a': 'euler_ancestral',
  euler: 'euler',
  lms: 'lms',
  heun: 'heun',
  dpm2: 'dpm_2',
  'dpm2 a': 'dpm_2_ancestral',
  'dpm++ 2s a': 'dpmpp_2s_ancestral',
  'dpm++ 2m': 'dpmpp_2m',
  'dpm++ sde': 'dpmpp_sde',
  'dpm++ 2m sde': 'dpmpp_2m_sde',
  'dpm++ 2m sde heun': 'dpmpp_2m_sde',
  'dpm++ 3m sde': 'dpmpp_3m_sde',
  'dpm fast': 'dpm_fast',
  'dpm adaptive': 'dpm_adaptive',
  ddim: 'ddim',
  ddpm: 'ddpm',
  unipc: 'uni_pc',
  lcm: 'lcm',
};

const A1111_SCHEDULES: Record<string, string> = {
  karras: 'karras',
  exponential: 'exponential',
  'sgm uniform': 'sgm_uniform',
  simple: 'simple',
  normal: 'normal',
  uniform: 'normal',
  ddim: 'ddim_uniform',
  beta: 'beta',
  'kl optimal': 'kl_optimal',
};

const MODEL_EXTENSIONS = /\.(safetensors|ckpt|pt|pth|bin|gguf|sft)$/i;

/** Settings that describe the file or the program rather than the generation: never reported. */
const INFORMATIONAL_KEYS = new Set(['Version', 'Lora hashes', 'TI hashes', 'Hashes', 'VAE hash', 'Module 1']);

function names(list: readonly unknown[] | undefined): string[] {
  return (list ?? []).filter((c): c is string => typeof c === 'string');
}

/** The file whose name without folders and extension is `name`: exact first, then ignoring case. */
export function matchFileName(name: string, choices: readonly unknown[] | undefined): string | undefined {
  const files = names(choices);
  const stem = (s: string) => s.replace(/\\/g, '/').split('/').pop()!.replace(MODEL_EXTENSIONS, '');
  const wanted = stem(name);
  return (
    files.find((f) => f === name) ??
    files.find((f) => stem(f) === wanted) ??
    files.find((f) => stem(f).toLowerCase() === wanted.toLowerCase())
  );
}

/** ComfyUI sampler and scheduler for an A1111 sampler name (+ its separate "Schedule type"). */
export function mapSampler(
  sampler: string | undefined,
  scheduleType: string | undefined,
): { sampler: string; scheduler: string; unmapped: string[] } {
  const unmapped: string[] = [];
  let base = (sampler ?? 'Euler').trim().toLowerCase();
  let scheduler: string | undefined;
  for (const suffix of ['karras', 'exponential', 'sgm uniform']) {
    if (base.endsWith(` ${suffix}`) && !(base in A1111_SAMPLERS)) {
      base = base.slice(0, -suffix.length - 1);
      scheduler = A1111_SCHEDULES[suffix];
    }
  }
  let mapped = A1111_SAMPLERS[base];
  if (!mapped) {
    unmapped.push(`sampler "${sampler}" (euler used)`);
    mapped = 'euler';
  }
  const schedule = scheduleType?.trim().toLowerCase();
  if (schedule && schedule !== 'automatic') {
    if (A1111_SCHEDULES[schedule]) scheduler = A1111_SCHEDULES[schedule];
    else unmapped.push(`schedule type "${scheduleType}"`);
  }
  return { sampler: mapped, scheduler: scheduler ?? (mapped === 'ddim' ? 'ddim_uniform' : 'normal'), unmapped };
}

function latentUpscaleMethod(upscaler: string | undefined): string | null {
  if (upscaler === undefined) return 'bilinear'; // A1111's default upscaler "Latent" is bilinear
  const m = upscaler.trim().match(/^latent(?:\s*\(([^)]*)\))?$/i);
  if (!m) return null;
  const kind = (m[1] ?? 'bilinear').toLowerCase().replace(' antialiased', '').replace('antialiased', 'bilinear');
  return kind === 'nearest' ? 'nearest-exact' : kind;
}

const COLUMN = 380;
/** The sizes the default workflow gives these nodes. */
const NODE_SIZES: Record<string, [number, number]> = {
  CLIPTextEncode: [420, 160],
  EmptyLatentImage: [315, 110],
  KSampler: [315, 470],
  VAEDecode: [210, 50],
  SaveImage: [320, 300],
};

/** Collects nodes and links; each node's outputs get their link ids as links are added. */
class GraphBuilder {
  nodes: UiNode[] = [];
  links: UiLinkArray[] = [];

  add(type: string, pos: [number, number], inputs: [string, string][], outputs: string[], widgets: unknown[]): UiNode {
    const node: UiNode = {
      id: this.nodes.length + 1,
      type,
      pos,
      size: NODE_SIZES[type] ?? [315, 100],
      mode: 0,
      inputs: inputs.map(([name, t]): UiInputSlot => ({ name, type: t, link: null })),
      outputs: outputs.map((t): UiOutputSlot => ({ name: t, type: t, links: [] })),
      widgets_values: widgets,
    };
    this.nodes.push(node);
    return node;
  }

  link(from: UiNode, slot: number, to: UiNode, input: string): void {
    const id = this.links.length + 1;
    const target = to.inputs!.findIndex((i) => i.name === input);
    const type = from.outputs![slot].type;
    this.links.push([id, from.id, slot, to.id, target, type]);
    to.inputs![target].link = id;
    (from.outputs![slot].links as number[]).push(id);
  }
}

/** The UI workflow for `params`, and the notes on what was not mapped (for the notice). */
export function a1111ToWorkflow(
  params: A1111Params,
  choices: A1111Choices = {},
  fallbackCheckpoint = 'model.safetensors',
): { workflow: UiWorkflow; notes: string[] } {
  const notes: string[] = [];
  const g = new GraphBuilder();
  let x = 30;
  const next = (width = COLUMN) => (x += width) - width;

  let checkpoint = fallbackCheckpoint;
  if (params.model) {
    const found = matchFileName(params.model, choices.checkpoints);
    if (!found) notes.push(`checkpoint "${params.model}" not found`);
    checkpoint = found ?? params.model;
  }
  const loader = g.add('CheckpointLoaderSimple', [next(), 300], [], ['MODEL', 'CLIP', 'VAE'], [checkpoint]);
  let model: [UiNode, number] = [loader, 0];
  let clip: [UiNode, number] = [loader, 1];
  let vae: [UiNode, number] = [loader, 2];

  const positive = extractLoras(params.positive);
  const negative = extractLoras(params.negative);
  const loraColumn = x;
  for (const [i, tag] of [...positive.loras, ...negative.loras].entries()) {
    const found = matchFileName(tag.name, choices.loras);
    if (!found) notes.push(`LoRA "${tag.name}" not found`);
    const lora = g.add(
      'LoraLoader',
      [loraColumn + i * COLUMN, 300],
      [
        ['model', 'MODEL'],
        ['clip', 'CLIP'],
      ],
      ['MODEL', 'CLIP'],
      [found ?? `${tag.name}.safetensors`, tag.unet, tag.te],
    );
    g.link(model[0], model[1], lora, 'model');
    g.link(clip[0], clip[1], lora, 'clip');
    model = [lora, 0];
    clip = [lora, 1];
    next();
  }
  if (params.clipSkip !== undefined && params.clipSkip > 1) {
    const skip = g.add('CLIPSetLastLayer', [next(), 420], [['clip', 'CLIP']], ['CLIP'], [-Math.round(params.clipSkip)]);
    g.link(clip[0], clip[1], skip, 'clip');
    clip = [skip, 0];
  }
  if (params.vae && !/^(automatic|none)$/i.test(params.vae)) {
    const found = matchFileName(params.vae, choices.vaes);
    if (found) {
      const vaeLoader = g.add('VAELoader', [30, 520], [], ['VAE'], [found]);
      vae = [vaeLoader, 0];
    } else notes.push(`VAE "${params.vae}" not found (the checkpoint's VAE used)`);
  }

  const textColumn = next(480);
  const encoders = [positive.text, negative.text].map((text, i) => {
    const encode = g.add('CLIPTextEncode', [textColumn, 120 + i * 230], [['clip', 'CLIP']], ['CONDITIONING'], [text]);
    g.link(clip[0], clip[1], encode, 'clip');
    return encode;
  });
  const latent = g.add(
    'EmptyLatentImage',
    [textColumn + 50, 600],
    [],
    ['LATENT'],
    [params.width ?? 512, params.height ?? 512, params.batchSize ?? 1],
  );

  const sampler = mapSampler(params.sampler, params.scheduleType);
  notes.push(...sampler.unmapped);
  for (const [value, list, what] of [
    [sampler.sampler, choices.samplers, 'sampler'],
    [sampler.scheduler, choices.schedulers, 'scheduler'],
  ] as const) {
    if (list && !names(list).includes(value)) notes.push(`${what} ${value} is not on this server`);
  }
  const seed = params.seed ?? 0;
  const steps = params.steps ?? 20;
  const cfg = params.cfg ?? 7;
  const ksampler = (pos: [number, number], stepCount: number, denoise: number) =>
    g.add(
      'KSampler',
      pos,
      [
        ['model', 'MODEL'],
        ['positive', 'CONDITIONING'],
        ['negative', 'CONDITIONING'],
        ['latent_image', 'LATENT'],
      ],
      ['LATENT'],
      [seed, 'fixed', stepCount, cfg, sampler.sampler, sampler.scheduler, denoise],
    );
  const wire = (node: UiNode, image: [UiNode, number]) => {
    g.link(model[0], model[1], node, 'model');
    g.link(encoders[0], 0, node, 'positive');
    g.link(encoders[1], 0, node, 'negative');
    g.link(image[0], image[1], node, 'latent_image');
  };
  const first = ksampler([next(), 180], steps, 1);
  wire(first, [latent, 0]);
  let samples: [UiNode, number] = [first, 0];

  const hires = params.hiresUpscale !== undefined || params.hiresWidth !== undefined || params.hiresSteps !== undefined;
  if (hires) {
    let method = latentUpscaleMethod(params.hiresUpscaler);
    if (method !== null && choices.upscaleMethods && !names(choices.upscaleMethods).includes(method)) method = null;
    if (method === null) {
      notes.push(`hires upscaler "${params.hiresUpscaler}" (latent upscale used)`);
      method = 'nearest-exact';
    }
    const upscaleColumn = next();
    const upscale =
      params.hiresWidth !== undefined && params.hiresHeight !== undefined
        ? g.add(
            'LatentUpscale',
            [upscaleColumn, 180],
            [['samples', 'LATENT']],
            ['LATENT'],
            [method, params.hiresWidth, params.hiresHeight, 'disabled'],
          )
        : g.add('LatentUpscaleBy', [upscaleColumn, 180], [['samples', 'LATENT']], ['LATENT'], [method, params.hiresUpscale ?? 2]);
    g.link(first, 0, upscale, 'samples');
    const second = ksampler([next(), 180], params.hiresSteps || steps, params.denoise ?? 0.7);
    wire(second, [upscale, 0]);
    samples = [second, 0];
  }

  const decode = g.add(
    'VAEDecode',
    [next(260), 180],
    [
      ['samples', 'LATENT'],
      ['vae', 'VAE'],
    ],
    ['IMAGE'],
    [],
  );
  g.link(samples[0], samples[1], decode, 'samples');
  g.link(vae[0], vae[1], decode, 'vae');
  const save = g.add('SaveImage', [next(), 180], [['images', 'IMAGE']], [], ['ComfyUI']);
  g.link(decode, 0, save, 'images');

  const unknown = Object.keys(params.settings).filter((k) => !MAPPED_KEYS.includes(k) && !INFORMATIONAL_KEYS.has(k));
  if (unknown.length) notes.push(`not mapped: ${unknown.join(', ')}`);
  const workflow: UiWorkflow = {
    last_node_id: g.nodes.length,
    last_link_id: g.links.length,
    nodes: g.nodes,
    links: g.links,
    groups: [],
    config: {},
    extra: {},
    version: 0.4,
  };
  return { workflow, notes };
}
