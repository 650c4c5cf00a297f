import { describe, expect, it } from 'vitest';
import { decodeUserComment, exifFromJpeg, exifFromWebp, imageExifText, readExifText } from './exif';
import { jpegWith, tiffBlock, userComment, utf16, webpWith } from './exifTestBytes';

const PARAMS = 'a red fox, snow\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, Seed: 7, Size: 512x512';

describe('EXIF UserComment and text tags', () => {
  for (const littleEndian of [true, false]) {
    const order = littleEndian ? 'II' : 'MM';
    for (const charset of ['unicode-be', 'unicode-le', 'ascii'] as const) {
      it(`reads a ${charset} UserComment from a ${order} JPEG and WebP`, () => {
        const tiff = tiffBlock({ littleEndian, userComment: userComment(PARAMS, charset) });
        expect(imageExifText(jpegWith(tiff))?.userComment).toBe(PARAMS);
        expect(imageExifText(webpWith(tiff))?.userComment).toBe(PARAMS);
        expect(imageExifText(webpWith(tiff, true))?.userComment).toBe(PARAMS);
      });
    }
    it(`reads IFD0 ASCII tags (${order})`, () => {
      const tiff = tiffBlock({ littleEndian, ascii: { 0x010e: 'café', 0x0110: 'prompt:{"1":{}}' } });
      const text = readExifText(exifFromWebp(webpWith(tiff)));
      expect(text).toEqual({ ifd0: { 0x010e: 'café', 0x0110: 'prompt:{"1":{}}' }, userComment: null });
    });
  }

  it('takes the UTF-16 order from a byte-order mark, else from where the zero bytes are', () => {
    const bom = (le: boolean) => (le ? [0xff, 0xfe] : [0xfe, 0xff]);
    const unicode = (bytes: Uint8Array) => Uint8Array.from([...'UNICODE\0'].map((c) => c.charCodeAt(0)).concat([...bytes]));
    expect(decodeUserComment(unicode(Uint8Array.from([...bom(true), ...utf16('Hi', true)])), false)).toBe('Hi');
    expect(decodeUserComment(unicode(Uint8Array.from([...bom(false), ...utf16('Hi', false)])), true)).toBe('Hi');
    // Text without Latin letters: the TIFF block's order decides.
    expect(decodeUserComment(unicode(utf16('猫猫', true)), true)).toBe('猫猫');
    expect(decodeUserComment(unicode(utf16('猫猫', false)), false)).toBe('猫猫');
    // Zero-prefix (undefined charset) and trailing NULs.
    expect(decodeUserComment(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0x68, 0x69, 0, 0]), true)).toBe('hi');
  });

  it('skips JPEG segments before the Exif one and finds nothing in a JPEG without it', () => {
    const tiff = tiffBlock({ littleEndian: true, userComment: userComment('x', 'ascii') });
    const jpeg = jpegWith(tiff);
    expect(exifFromJpeg(jpeg)).toEqual(tiff);
    const withoutExif = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xda, 0, 2, 0xff, 0xd9]);
    expect(exifFromJpeg(withoutExif)).toBeNull();
    expect(imageExifText(withoutExif)).toBeNull();
  });

  it('returns null, never throws, for truncated or broken data', () => {
    const tiff = tiffBlock({ littleEndian: false, ascii: { 0x010e: 'description' }, userComment: userComment(PARAMS, 'unicode-be') });
    for (const file of [jpegWith(tiff), webpWith(tiff)]) {
      for (let cut = 0; cut < file.length; cut += 7) {
        expect(() => imageExifText(file.subarray(0, cut))).not.toThrow();
      }
      // Cut inside the EXIF data: the reader gives up on the block (its length runs past the end).
      expect(imageExifText(file.subarray(0, file.length - 20))).toBeNull();
    }
    expect(readExifText(new Uint8Array([0x49, 0x49, 42, 0, 0xff, 0xff, 0, 0]))).toBeNull(); // IFD0 past the end
    expect(readExifText(new Uint8Array([0x58, 0x58, 42, 0, 8, 0, 0, 0]))).toBeNull(); // not II/MM
    expect(imageExifText(new TextEncoder().encode('{"nodes": []}'))).toBeNull();
    // A UserComment offset pointing past the block is skipped, the rest is kept.
    const broken = tiffBlock({ littleEndian: true, ascii: { 0x010e: 'kept' }, userComment: userComment(PARAMS, 'ascii') });
    const cut = broken.subarray(0, broken.length - 10);
    expect(readExifText(cut)).toEqual({ ifd0: { 0x010e: 'kept' }, userComment: null });
  });
});
