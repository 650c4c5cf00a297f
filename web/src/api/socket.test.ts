import { describe, expect, it } from 'vitest';
import { parseBinaryFrame } from './socket';

function frame(event: number, second: number, rest: number[] | Uint8Array): ArrayBuffer {
  const buf = new ArrayBuffer(8 + rest.length);
  const view = new DataView(buf);
  view.setUint32(0, event);
  view.setUint32(4, second);
  new Uint8Array(buf).set(rest, 8);
  return buf;
}

describe('binary WebSocket frames', () => {
  it('decodes a type-1 preview (JPEG and PNG) after the 8-byte header', () => {
    const jpeg = parseBinaryFrame(frame(1, 1, [0xff, 0xd8, 0xff]));
    expect(jpeg).toMatchObject({ kind: 'preview', mime: 'image/jpeg' });
    expect([...(jpeg as { image: Uint8Array }).image]).toEqual([0xff, 0xd8, 0xff]);
    expect(parseBinaryFrame(frame(1, 2, [137]))).toMatchObject({ mime: 'image/png' });
  });

  it('decodes type-4 previews with metadata and type-3 text', () => {
    const meta = new TextEncoder().encode(JSON.stringify({ node_id: '3', image_type: 'image/png' }));
    const f = parseBinaryFrame(frame(4, meta.length, [...meta, 1, 2]));
    expect(f).toMatchObject({ kind: 'preview', mime: 'image/png', nodeId: '3' });
    const text = parseBinaryFrame(frame(3, 1, [...new TextEncoder().encode('7hello')]));
    expect(text).toEqual({ kind: 'text', nodeId: '7', text: 'hello' });
  });

  it('refuses frames shorter than their header', () => {
    expect(() => parseBinaryFrame(new ArrayBuffer(4))).toThrow('shorter than its 8-byte header');
    expect(() => parseBinaryFrame(frame(4, 99, [1]))).toThrow('runs past the end');
    expect(parseBinaryFrame(frame(9, 0, []))).toEqual({ kind: 'unknown', event: 9 });
  });
});
