import { describe, expect, it } from 'vitest';
import { jpegWith, tiffBlock, userComment, webpWith } from './exifTestBytes';
import { documentFromImage, imageFormat } from './imageDocument';
import { PngError } from './png';
import { pngChunk, pngOf } from './pngTestBytes';

const PARAMS = 'a lighthouse\nSteps: 12, Sampler: Euler, Seed: 3, Size: 64x64, Denoising strength: 0.4';
const latin = (s: string) => Uint8Array.from([...s].map((c) => c.charCodeAt(0)));

describe('documents in PNG, JPEG and WebP files', () => {
  it('tells the formats apart by their first bytes', () => {
    expect(imageFormat(pngOf())).toBe('png');
    expect(imageFormat(jpegWith(tiffBlock({ littleEndian: true })))).toBe('jpeg');
    expect(imageFormat(webpWith(tiffBlock({ littleEndian: true })))).toBe('webp');
    expect(imageFormat(new TextEncoder().encode('{}'))).toBeNull();
  });

  it('still reads PNG text chunks', () => {
    expect(documentFromImage(pngOf(pngChunk('tEXt', latin(`parameters\0${PARAMS}`))))).toEqual({ kind: 'parameters', data: PARAMS });
  });

  it('reads A1111 parameters from UserComment, else from ImageDescription', () => {
    const comment = tiffBlock({ littleEndian: false, userComment: userComment(PARAMS, 'unicode-be') });
    expect(documentFromImage(jpegWith(comment))).toEqual({ kind: 'parameters', data: PARAMS });
    const description = tiffBlock({ littleEndian: true, ascii: { 0x010e: PARAMS } });
    expect(documentFromImage(webpWith(description, true))).toEqual({ kind: 'parameters', data: PARAMS });
  });

  it("ignores a camera's description and a comment without a settings line", () => {
    const camera = tiffBlock({
      littleEndian: true,
      ascii: { 0x010e: 'OLYMPUS DIGITAL CAMERA' },
      userComment: userComment('hello', 'ascii'),
    });
    expect(documentFromImage(jpegWith(camera))).toBeNull();
  });

  it("reads ComfyUI's WebP workflow and prompt tags (workflow first, capitalised keys too)", () => {
    const workflow = { nodes: [], links: [] };
    const prompt = { '1': { class_type: 'KSampler', inputs: {} } };
    const both = tiffBlock({
      littleEndian: true,
      ascii: { 0x0110: `prompt:${JSON.stringify(prompt)}`, 0x010f: `workflow:${JSON.stringify(workflow)}` },
    });
    expect(documentFromImage(webpWith(both))).toEqual({ kind: 'workflow', data: workflow });
    const onlyPrompt = tiffBlock({ littleEndian: false, ascii: { 0x010f: `Prompt:${JSON.stringify(prompt)}` } });
    expect(documentFromImage(webpWith(onlyPrompt))).toEqual({ kind: 'prompt', data: prompt });
    const bad = tiffBlock({ littleEndian: true, ascii: { 0x0110: 'prompt:{not json' } });
    expect(() => documentFromImage(webpWith(bad))).toThrow(PngError);
  });

  it('gives null for images without metadata and for files that are no image', () => {
    expect(documentFromImage(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]))).toBeNull();
    expect(documentFromImage(webpWith(new Uint8Array(3)))).toBeNull();
    expect(documentFromImage(new TextEncoder().encode('{"nodes": []}'))).toBeNull();
  });
});
