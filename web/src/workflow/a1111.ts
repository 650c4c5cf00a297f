/**
 * Parses the "parameters" text that AUTOMATIC1111, Forge and SD.Next write into their PNGs:
 * the positive prompt (any number of lines), an optional "Negative prompt:" (any number of lines),
 * then one last line of `Key: value` pairs separated by ", " where a value holding commas is
 * quoted as JSON ("..."). Pure functions; the graph is built in a1111Graph.ts.
 */

/** One `<lora:name:weight>` tag taken out of a prompt. */
export interface LoraTag {
  name: string;
  /** The weight for the model (the UNet). */
  unet: number;
  /** The weight for the text encoder; the same as `unet` unless the tag gives both. */
  te: number;
}

/** The parameters, with the settings that the graph builder maps picked out and typed. */
export interface A1111Params {
  positive: string;
  negative: string;
  /** Every `Key: value` pair of the settings line, as written (quotes removed). */
  settings: Record<string, string>;
  steps?: number;
  sampler?: string;
  scheduleType?: string;
  cfg?: number;
  seed?: number;
  width?: number;
  height?: number;
  model?: string;
  modelHash?: string;
  clipSkip?: number;
  denoise?: number;
  hiresUpscale?: number;
  hiresSteps?: number;
  hiresUpscaler?: string;
  hiresWidth?: number;
  hiresHeight?: number;
  vae?: string;
  batchSize?: number;
}

/** The keys picked out into typed fields (the builder reports the rest it cannot use). */
export const MAPPED_KEYS = [
  'Steps',
  'Sampler',
  'Schedule type',
  'CFG scale',
  'Seed',
  'Size',
  'Model',
  'Model hash',
  'Clip skip',
  'Denoising strength',
  'Hires upscale',
  'Hires steps',
  'Hires upscaler',
  'Hires resize',
  'VAE',
  'Batch size',
];

const NEGATIVE_PREFIX = 'Negative prompt:';
const KEY_PATTERN = /^[A-Za-z][\w .()/+-]*$/;

/**
 * The `Key: value` pairs of a settings line, in order. A value starting with `"` runs to its closing
 * quote (JSON escapes inside); any other value runs to the next comma. Returns null when a part of
 * the line is not a pair, i.e. when the line is not a settings line.
 */
export function parseSettingsLine(line: string): [string, string][] | null {
  const pairs: [string, string][] = [];
  let pos = 0;
  const text = line.trim();
  while (pos < text.length) {
    const colon = text.indexOf(':', pos);
    if (colon < 0) return null;
    const key = text.slice(pos, colon).trim();
    if (!KEY_PATTERN.test(key)) return null;
    pos = colon + 1;
    while (text[pos] === ' ') pos++;
    let value: string;
    if (text[pos] === '"') {
      let end = pos + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (end >= text.length) return null;
      const quoted = text.slice(pos, end + 1);
      try {
        value = JSON.parse(quoted) as string;
      } catch {
        value = quoted.slice(1, -1);
      }
      pos = end + 1;
      while (text[pos] === ' ') pos++;
      if (pos < text.length && text[pos] !== ',') return null;
    } else {
      const comma = text.indexOf(',', pos);
      const end = comma < 0 ? text.length : comma;
      value = text.slice(pos, end).trim();
      pos = end;
    }
    pairs.push([key, value]);
    if (text[pos] === ',') pos++;
    while (text[pos] === ' ') pos++;
  }
  return pairs;
}

function settingsLineIndex(lines: string[]): number {
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^\s*Steps:\s*\d/.test(lines[i]) && parseSettingsLine(lines[i])) return i;
  }
  // Some writers do not start with Steps: the last line counts when it is made of 3+ pairs.
  const last = lines.length - 1;
  const pairs = last >= 0 ? parseSettingsLine(lines[last]) : null;
  return pairs && pairs.length >= 3 ? last : -1;
}

function number(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** "512x768" → [512, 768]; undefined when it is not two numbers. */
export function parseSize(value: string | undefined): [number, number] | undefined {
  const m = value?.trim().match(/^(\d+)\s*[x×]\s*(\d+)$/i);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Parses A1111 "parameters" text. Never throws: text without a settings line is all prompt. */
export function parseA1111Parameters(text: string): A1111Params {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const index = settingsLineIndex(lines);
  const settings: Record<string, string> = {};
  for (const [key, value] of index >= 0 ? (parseSettingsLine(lines[index]) ?? []) : []) settings[key] = value;
  const promptLines = index >= 0 ? lines.slice(0, index) : lines;
  const negativeAt = promptLines.findIndex((l) => l.trimStart().startsWith(NEGATIVE_PREFIX));
  const positive = (negativeAt >= 0 ? promptLines.slice(0, negativeAt) : promptLines).join('\n').trim();
  let negative = '';
  if (negativeAt >= 0) {
    const rest = promptLines.slice(negativeAt);
    rest[0] = rest[0].trimStart().slice(NEGATIVE_PREFIX.length);
    negative = rest.join('\n').trim();
  }
  const size = parseSize(settings['Size']);
  const hires = parseSize(settings['Hires resize']);
  const present = (key: string) => (settings[key] !== undefined && settings[key] !== '' ? settings[key] : undefined);
  const params: A1111Params = {
    positive,
    negative,
    settings,
    steps: number(settings['Steps']),
    sampler: present('Sampler'),
    scheduleType: present('Schedule type'),
    cfg: number(settings['CFG scale']),
    seed: number(settings['Seed']),
    width: size?.[0],
    height: size?.[1],
    model: present('Model'),
    modelHash: present('Model hash'),
    clipSkip: number(settings['Clip skip']),
    denoise: number(settings['Denoising strength']),
    hiresUpscale: number(settings['Hires upscale']),
    hiresSteps: number(settings['Hires steps']),
    hiresUpscaler: present('Hires upscaler'),
    hiresWidth: hires?.[0],
    hiresHeight: hires?.[1],
    vae: present('VAE'),
    batchSize: number(settings['Batch size']),
  };
  for (const key of Object.keys(params) as (keyof A1111Params)[]) if (params[key] === undefined) delete params[key];
  return params;
}

const LORA_TAG = /<lora:([^:>]+)(?::([^:>]*))?(?::([^:>]*))?>/gi;

function weight(value: string | undefined, fallback: number): number {
  const v = value?.trim().replace(/^(te|unet)=/, '');
  const n = v ? Number(v) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

/**
 * Takes the `<lora:name>`, `<lora:name:weight>` and `<lora:name:te:unet>` tags out of a prompt:
 * the text without them (spaces and commas left by a removed tag tidied) and the tags in order.
 */
export function extractLoras(prompt: string): { text: string; loras: LoraTag[] } {
  const loras: LoraTag[] = [];
  const text = prompt.replace(LORA_TAG, (_all, name: string, first?: string, second?: string) => {
    const te = weight(first, 1);
    loras.push({ name: name.trim(), te, unet: second === undefined ? te : weight(second, te) });
    return '';
  });
  if (!loras.length) return { text: prompt, loras };
  const tidy = text
    .split('\n')
    .map((line) =>
      line
        .replace(/[ \t]+,/g, ',')
        .replace(/,(\s*,)+/g, ',')
        .replace(/[ \t]{2,}/g, ' ')
        .replace(/^[\s,]+|[\s,]+$/g, ''),
    )
    .join('\n')
    .trim();
  return { text: tidy, loras };
}
