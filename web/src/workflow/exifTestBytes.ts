/**
 * Test helpers: hand-built EXIF (TIFF) blocks in either byte order and the smallest JPEG / WebP files that
 * carry them (no real pixels: the readers only look at the metadata). Used by the EXIF and image tests.
 */
import { concatBytes } from './pngTestBytes';

export interface TiffSpec {
  littleEndian: boolean;
  /** IFD0 ASCII tags: tag → text. */
  ascii?: Record<number, string>;
  /** The raw UserComment value (prefix included) of the Exif IFD; none when undefined. */
  userComment?: Uint8Array;
}

const concat = concatBytes;

const latin = (s: string) => Uint8Array.from([...s].map((c) => c.charCodeAt(0)));

/** UTF-16 bytes of `text` in the given order. */
export function utf16(text: string, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < text.length; i++) view.setUint16(i * 2, text.charCodeAt(i), littleEndian);
  return out;
}

/** A UserComment value: "UNICODE\0" + UTF-16 text, or "ASCII\0\0\0" + the text. */
export function userComment(text: string, charset: 'unicode-be' | 'unicode-le' | 'ascii'): Uint8Array {
  if (charset === 'ascii') return concat(latin('ASCII\0\0\0'), new TextEncoder().encode(text));
  return concat(latin('UNICODE\0'), utf16(text, charset === 'unicode-le'));
}

/** A TIFF block: header, IFD0 (ASCII tags, then the Exif IFD pointer), the Exif IFD, then the values. */
export function tiffBlock({ littleEndian, ascii = {}, userComment }: TiffSpec): Uint8Array {
  const encoder = new TextEncoder();
  const asciiEntries = Object.entries(ascii).map(
    ([tag, text]) => [Number(tag), concat(encoder.encode(text), new Uint8Array([0]))] as const,
  );
  const ifd0Count = asciiEntries.length + (userComment ? 1 : 0);
  const ifd0Size = 2 + ifd0Count * 12 + 4;
  const exifIfdAt = 8 + ifd0Size;
  const exifIfdSize = userComment ? 2 + 12 + 4 : 0;
  let dataAt = exifIfdAt + exifIfdSize;
  const head = new Uint8Array(dataAt);
  const view = new DataView(head.buffer);
  const le = littleEndian;
  head.set(latin(le ? 'II' : 'MM'));
  view.setUint16(2, 42, le);
  view.setUint32(4, 8, le);
  view.setUint16(8, ifd0Count, le);
  const values: Uint8Array[] = [];
  const entry = (at: number, tag: number, type: number, count: number, value: Uint8Array) => {
    view.setUint16(at, tag, le);
    view.setUint16(at + 2, type, le);
    view.setUint32(at + 4, count, le);
    if (value.length <= 4) head.set(value, at + 8);
    else {
      view.setUint32(at + 8, dataAt, le);
      values.push(value);
      dataAt += value.length;
    }
  };
  asciiEntries.forEach(([tag, bytes], i) => entry(10 + i * 12, tag, 2, bytes.length, bytes));
  if (userComment) {
    const pointer = new Uint8Array(4);
    new DataView(pointer.buffer).setUint32(0, exifIfdAt, le);
    entry(10 + asciiEntries.length * 12, 0x8769, 4, 1, pointer);
    view.setUint16(exifIfdAt, 1, le);
    entry(exifIfdAt + 2, 0x9286, 7, userComment.length, userComment);
  }
  return concat(head, ...values);
}

/** SOI, an APP0 to skip, APP1 "Exif\0\0" + the block, a start of scan and EOI. */
export function jpegWith(tiff: Uint8Array): Uint8Array {
  const segment = (marker: number, body: Uint8Array) => {
    const len = body.length + 2;
    return concat(new Uint8Array([0xff, marker, len >> 8, len & 0xff]), body);
  };
  return concat(
    new Uint8Array([0xff, 0xd8]),
    segment(0xe0, latin('JFIF\0\x01\x01\0\0\x01\0\x01\0\0')),
    segment(0xe1, concat(latin('Exif\0\0'), tiff)),
    segment(0xda, new Uint8Array(10)),
    new Uint8Array([0xff, 0xd9]),
  );
}

/** RIFF/WEBP with a VP8X chunk and an "EXIF" chunk holding the block (with an "Exif\0\0" header if asked). */
export function webpWith(tiff: Uint8Array, exifHeader = false): Uint8Array {
  const chunk = (type: string, body: Uint8Array) => {
    const head = new Uint8Array(8);
    head.set(latin(type));
    new DataView(head.buffer).setUint32(4, body.length, true);
    return concat(head, body, new Uint8Array(body.length & 1));
  };
  const chunks = concat(chunk('VP8X', new Uint8Array(10)), chunk('EXIF', exifHeader ? concat(latin('Exif\0\0'), tiff) : tiff));
  const riff = new Uint8Array(12);
  riff.set(latin('RIFF'));
  new DataView(riff.buffer).setUint32(4, chunks.length + 4, true);
  riff.set(latin('WEBP'), 8);
  return concat(riff, chunks);
}
