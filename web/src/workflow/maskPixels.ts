/**
 * Mask pixels as ComfyUI's mask editor keeps them. The editor paints the mask into a canvas
 * (alpha 255 = masked, to be inpainted); LoadImage reads the mask as 1 - the image's alpha, so the
 * upload to /upload/mask carries alpha = 255 - mask, and an image opened for editing starts with
 * mask = 255 - its alpha. All functions work on RGBA bytes (ImageData.data).
 */

/** The mask colour shown over the image (alpha carries the mask). */
export const MASK_RGB: [number, number, number] = [255, 64, 64];

/** Mask RGBA (colour + mask in alpha) from an image's RGBA: masked where the image is transparent. */
export function maskFromImage(image: Uint8ClampedArray): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(image.length);
  for (let i = 0; i < image.length; i += 4) {
    out[i] = MASK_RGB[0];
    out[i + 1] = MASK_RGB[1];
    out[i + 2] = MASK_RGB[2];
    out[i + 3] = 255 - image[i + 3];
  }
  return out;
}

/** Inverts the mask in place: masked becomes unmasked and back. */
export function invertMask(mask: Uint8ClampedArray): void {
  for (let i = 0; i < mask.length; i += 4) {
    mask[i] = MASK_RGB[0];
    mask[i + 1] = MASK_RGB[1];
    mask[i + 2] = MASK_RGB[2];
    mask[i + 3] = 255 - mask[i + 3];
  }
}

/** The RGBA sent to /upload/mask: black, alpha = 255 - mask (the server keeps only this alpha). */
export function maskUploadPixels(mask: Uint8ClampedArray): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(mask.length);
  for (let i = 0; i < mask.length; i += 4) out[i + 3] = 255 - mask[i + 3];
  return out;
}

/** Fraction of pixels masked at least half. */
export function maskedFraction(mask: Uint8ClampedArray): number {
  let n = 0;
  for (let i = 3; i < mask.length; i += 4) if (mask[i] >= 128) n++;
  return mask.length ? n / (mask.length / 4) : 0;
}

/** The LoadImage value for an uploaded file ("clipspace/x.png [input]", as ComfyUI's mask editor sets). */
export function annotatedName(name: string, subfolder: string, type: string): string {
  return `${subfolder ? `${subfolder}/` : ''}${name} [${type}]`;
}

/** The /upload/mask original_ref of a LoadImage value ("sub/name.png [input]" or "name.png"). */
export function originalRef(value: string): { filename: string; subfolder: string; type: string } {
  const m = /^(.*?)(?: \[(input|output|temp)\])?$/.exec(value)!;
  const slash = m[1].lastIndexOf('/');
  return { filename: m[1].slice(slash + 1), subfolder: slash >= 0 ? m[1].slice(0, slash) : '', type: m[2] ?? 'input' };
}
