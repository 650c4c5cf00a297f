import { describe, expect, it } from 'vitest';
import { annotatedName, invertMask, maskedFraction, maskFromImage, maskUploadPixels, originalRef } from './maskPixels';

const px = (...alphas: number[]) => new Uint8ClampedArray(alphas.flatMap((a) => [10, 20, 30, a]));

describe('mask pixels (alpha = 255 - mask, as LoadImage reads it)', () => {
  it('starts from the image: transparent pixels are masked', () => {
    const mask = maskFromImage(px(255, 0, 100));
    expect([mask[3], mask[7], mask[11]]).toEqual([0, 255, 155]);
    expect(maskedFraction(mask)).toBeCloseTo(2 / 3);
  });
  it('inverts in place and uploads alpha = 255 - mask over black', () => {
    const mask = maskFromImage(px(255, 0));
    invertMask(mask);
    expect([mask[3], mask[7]]).toEqual([255, 0]);
    expect(Array.from(maskUploadPixels(mask))).toEqual([0, 0, 0, 0, 0, 0, 0, 255]);
  });
  it('names files as ComfyUI does', () => {
    expect(annotatedName('clipspace-mask-1.png', 'clipspace', 'input')).toBe('clipspace/clipspace-mask-1.png [input]');
    expect(originalRef('clipspace/a.png [input]')).toEqual({ filename: 'a.png', subfolder: 'clipspace', type: 'input' });
    expect(originalRef('cat.png')).toEqual({ filename: 'cat.png', subfolder: '', type: 'input' });
  });
});
