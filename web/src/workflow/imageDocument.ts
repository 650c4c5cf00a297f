/**
 * What a dropped or opened image carries to open, whatever its format: PNG text chunks (png.ts), or the
 * EXIF of a JPEG or WebP (exif.ts) — ComfyUI's "workflow:" / "prompt:" IFD0 tags (its WebP saves, and
 * ComfyUI's editor reads "Workflow"/"Prompt" too), else the A1111/Forge/SD.Next "parameters" text from
 * UserComment, else from ImageDescription.
 */
import { imageExifText, TAG_IMAGE_DESCRIPTION, type ExifText } from './exif';
import { documentFromPng, PngError, type PngDocument } from './png';

/** A1111's settings line; EXIF text without one is a camera's or editor's comment, not parameters. */
const SETTINGS_LINE = /(^|\n)\s*Steps: *\d/;

export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** The image format by the file's first bytes; null for anything else (e.g. JSON). */
export function imageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length >= 12 && tag(0) === 'RIFF' && tag(8) === 'WEBP') return 'webp';
  return null;
}

/** IFD0's "key:value" texts (ComfyUI's way of storing named JSON in EXIF), keys as written. */
function keyedTexts(exif: ExifText): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of Object.values(exif.ifd0)) {
    const m = text.match(/^(\w+):/);
    if (m && !(m[1] in out)) out[m[1]] = text.slice(m[0].length);
  }
  return out;
}

/** The ComfyUI document or A1111 parameters of a JPEG/WebP EXIF block. Throws PngError on invalid JSON. */
export function documentFromExif(exif: ExifText, format: string): PngDocument | null {
  const keyed = keyedTexts(exif);
  for (const kind of ['workflow', 'prompt'] as const) {
    const capitalised = kind[0].toUpperCase() + kind.slice(1);
    const text = keyed[kind] ?? keyed[capitalised];
    if (text === undefined) continue;
    try {
      return { kind, data: JSON.parse(text) };
    } catch (e) {
      throw new PngError(`${format} "${kind}" EXIF text is not valid JSON: ${(e as Error).message}`);
    }
  }
  const parameters = [exif.userComment, exif.ifd0[TAG_IMAGE_DESCRIPTION]].find((t) => t && SETTINGS_LINE.test(t));
  return parameters ? { kind: 'parameters', data: parameters } : null;
}

/**
 * The document an image file carries (see documentFromPng for PNGs); null when it is not a PNG, JPEG or
 * WebP, or carries nothing to open. Throws PngError on a broken PNG or invalid embedded JSON.
 */
export function documentFromImage(data: ArrayBuffer | Uint8Array): PngDocument | null {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const format = imageFormat(bytes);
  if (format === 'png') return documentFromPng(bytes);
  if (format === null) return null;
  const exif = imageExifText(bytes);
  return exif ? documentFromExif(exif, format === 'jpeg' ? 'JPEG' : 'WebP') : null;
}
