/**
 * Builds the prompt (API format) of parsed A1111 parameters: checkpoint → LoRA chain → CLIP skip →
 * prompts → empty latent (txt2img) or LoadImage → VAEEncode (img2img) → KSampler → optional hires fix
 * (latent upscale + second KSampler) → VAEDecode → SaveImage. File names are matched against the server's
 * lists; `notes` names what could not be mapped.
 */
import type { ApiPrompt } from '../api/types';
import { extractLoras, MAPPED_KEYS, type A1111Params } from './a1111';

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

/** Adds API-format nodes with ids "1", "2", ... in order; `out` names an output as a link. */
class PromptBuilder {
  prompt: ApiPrompt = {};

  add(classType: string, inputs: Record<string, unknown>): string {
    const id = String(Object.keys(this.prompt).length + 1);
    this.prompt[id] = { class_type: classType, inputs };
    return id;
  }
}

type Output = [string, number];

/** txt2img; img2img (a denoising strength without hires fix); inpaint (img2img with "Mask blur"). */
export type A1111Mode = 'txt2img' | 'img2img' | 'inpaint';

export function a1111Mode(params: A1111Params): A1111Mode {
  const hires = ['Hires upscale', 'Hires steps', 'Hires resize', 'Hires upscaler'].some((k) => k in params.settings);
  if (params.denoise === undefined || hires) return 'txt2img';
  return 'Mask blur' in params.settings ? 'inpaint' : 'img2img';
}

/**
 * The steps A1111 runs in img2img: the last int(denoise × steps) of a `steps`-step schedule, which is what
 * ComfyUI's KSampler runs with that many steps and that denoise.
 */
export function img2imgSteps(steps: number, denoise: number): number {
  return Math.max(1, Math.floor(Math.min(denoise, 0.999) * steps));
}

/**
 * The API-format prompt for `params`, and the notes on what was not mapped (for the notice). The editor
 * opens it as it opens any API prompt (apiToEditor: widgets from the node definitions, columns by depth).
 */
export function a1111ToPrompt(
  params: A1111Params,
  choices: A1111Choices = {},
  fallbackCheckpoint = 'model.safetensors',
  /** For img2img: the input image's name in the server's input folder ('' when it could not be uploaded). */
  inputImage = '',
): { prompt: ApiPrompt; notes: string[] } {
  const notes: string[] = [];
  const mode = a1111Mode(params);
  const b = new PromptBuilder();

  let checkpoint = fallbackCheckpoint;
  if (params.model) {
    const found = matchFileName(params.model, choices.checkpoints);
    if (!found) notes.push(`checkpoint "${params.model}" not found`);
    checkpoint = found ?? params.model;
  }
  const loader = b.add('CheckpointLoaderSimple', { ckpt_name: checkpoint });
  let model: Output = [loader, 0];
  let clip: Output = [loader, 1];
  let vae: Output = [loader, 2];

  const positive = extractLoras(params.positive);
  const negative = extractLoras(params.negative);
  for (const tag of [...positive.loras, ...negative.loras]) {
    const found = matchFileName(tag.name, choices.loras);
    if (!found) notes.push(`LoRA "${tag.name}" not found`);
    const lora = b.add('LoraLoader', {
      lora_name: found ?? `${tag.name}.safetensors`,
      strength_model: tag.unet,
      strength_clip: tag.te,
      model,
      clip,
    });
    model = [lora, 0];
    clip = [lora, 1];
  }
  if (params.clipSkip !== undefined && params.clipSkip > 1) {
    clip = [b.add('CLIPSetLastLayer', { stop_at_clip_layer: -Math.round(params.clipSkip), clip }), 0];
  }
  if (params.vae && !/^(automatic|none)$/i.test(params.vae)) {
    const found = matchFileName(params.vae, choices.vaes);
    if (found) vae = [b.add('VAELoader', { vae_name: found }), 0];
    else notes.push(`VAE "${params.vae}" not found (the checkpoint's VAE used)`);
  }

  const [positiveCond, negativeCond] = [positive.text, negative.text].map((text): Output => [b.add('CLIPTextEncode', { text, clip }), 0]);
  let latent: Output;
  if (mode === 'txt2img') {
    const size = { width: params.width ?? 512, height: params.height ?? 512, batch_size: params.batchSize ?? 1 };
    latent = [b.add('EmptyLatentImage', size), 0];
  } else {
    const image = b.add('LoadImage', { image: inputImage });
    latent = [b.add('VAEEncode', { pixels: [image, 0], vae }), 0];
    if (mode === 'inpaint')
      notes.push(`inpainting (Mask blur: ${params.settings['Mask blur']}) not converted: no mask in the file, the whole image is redone`);
    if ((params.batchSize ?? 1) > 1) notes.push(`batch size ${params.batchSize} (img2img of one image)`);
  }

  const sampler = mapSampler(params.sampler, params.scheduleType);
  notes.push(...sampler.unmapped);
  for (const [value, list, what] of [
    [sampler.sampler, choices.samplers, 'sampler'],
    [sampler.scheduler, choices.schedulers, 'scheduler'],
  ] as const) {
    if (list && !names(list).includes(value)) notes.push(`${what} ${value} is not on this server`);
  }
  const steps = params.steps ?? 20;
  const ksampler = (latentImage: Output, stepCount: number, denoise: number): Output => [
    b.add('KSampler', {
      seed: params.seed ?? 0,
      steps: stepCount,
      cfg: params.cfg ?? 7,
      sampler_name: sampler.sampler,
      scheduler: sampler.scheduler,
      denoise,
      model,
      positive: positiveCond,
      negative: negativeCond,
      latent_image: latentImage,
    }),
    0,
  ];
  let samples = mode === 'txt2img' ? ksampler(latent, steps, 1) : ksampler(latent, img2imgSteps(steps, params.denoise!), params.denoise!);

  const hires = params.hiresUpscale !== undefined || params.hiresWidth !== undefined || params.hiresSteps !== undefined;
  if (hires) {
    let method = latentUpscaleMethod(params.hiresUpscaler);
    if (method !== null && choices.upscaleMethods && !names(choices.upscaleMethods).includes(method)) method = null;
    if (method === null) {
      notes.push(`hires upscaler "${params.hiresUpscaler}" (latent upscale used)`);
      method = 'nearest-exact';
    }
    const upscale =
      params.hiresWidth !== undefined && params.hiresHeight !== undefined
        ? b.add('LatentUpscale', {
            upscale_method: method,
            width: params.hiresWidth,
            height: params.hiresHeight,
            crop: 'disabled',
            samples,
          })
        : b.add('LatentUpscaleBy', { upscale_method: method, scale_by: params.hiresUpscale ?? 2, samples });
    samples = ksampler([upscale, 0], params.hiresSteps || steps, params.denoise ?? 0.7);
  }

  const decode = b.add('VAEDecode', { samples, vae });
  b.add('SaveImage', { filename_prefix: 'ComfyUI', images: [decode, 0] });

  const reported = (k: string) => mode === 'inpaint' && k === 'Mask blur';
  const unknown = Object.keys(params.settings).filter((k) => !MAPPED_KEYS.includes(k) && !INFORMATIONAL_KEYS.has(k) && !reported(k));
  if (unknown.length) notes.push(`not mapped: ${unknown.join(', ')}`);
  return { prompt: b.prompt, notes };
}
