/**
 * Reads the text that image tools put in EXIF: the TIFF block of a JPEG's APP1 "Exif\0\0" segment or of a
 * WebP's "EXIF" RIFF chunk, both byte orders. AUTOMATIC1111, Forge and SD.Next write their "parameters"
 * text as the Exif IFD's UserComment (0x9286: an 8-byte charset prefix, then the text; "UNICODE\0" text is
 * UTF-16, big-endian in A1111's files whatever the TIFF byte order, so the order is detected); some tools
 * write ImageDescription (0x010E) instead. ComfyUI's WebP saves keep "prompt:{json}" / "workflow:{json}"
 * as ASCII tags of IFD0 (Model, Make and below). Bad or truncated data gives null, never an exception.
 */

/** The text-like tags of an EXIF block. */
export interface ExifText {
  /** IFD0's ASCII tags by tag number (ImageDescription is 0x010E, Make 0x010F, Model 0x0110). */
  ifd0: Record<number, string>;
  /** The Exif IFD's UserComment, decoded; null when absent or empty. */
  userComment: string | null;
}

export const TAG_IMAGE_DESCRIPTION = 0x010e;
const TAG_EXIF_IFD = 0x8769;
const TAG_USER_COMMENT = 0x9286;
const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };
const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  return bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

/** The TIFF block of a JPEG's first APP1 Exif segment; null when the file is not a JPEG or has none. */
export function exifFromJpeg(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return null;
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image, start of scan: no more metadata
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // markers without a length
      continue;
    }
    const length = (bytes[pos + 2] << 8) | bytes[pos + 3];
    if (length < 2 || pos + 2 + length > bytes.length) return null;
    const body = bytes.subarray(pos + 4, pos + 2 + length);
    if (marker === 0xe1 && startsWith(body, EXIF_HEADER)) return body.subarray(EXIF_HEADER.length);
    pos += 2 + length;
  }
  return null;
}

/** The TIFF block of a WebP's "EXIF" chunk (an "Exif\0\0" header, which some writers add, skipped). */
export function exifFromWebp(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length < 12 || ascii(bytes, 0, 4) !== 'RIFF' || ascii(bytes, 8, 4) !== 'WEBP') return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const type = ascii(bytes, pos, 4);
    const size = view.getUint32(pos + 4, true);
    if (pos + 8 + size > bytes.length) return null;
    if (type === 'EXIF') {
      const body = bytes.subarray(pos + 8, pos + 8 + size);
      return startsWith(body, EXIF_HEADER) ? body.subarray(EXIF_HEADER.length) : body;
    }
    pos += 8 + size + (size & 1); // chunks are padded to an even size
  }
  return null;
}

/** Text of EXIF ASCII/UNDEFINED bytes: UTF-8 when valid (many tools write it there), else Latin-1. */
function decodeBytes(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const trimmed = bytes.subarray(0, end);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(trimmed);
  } catch {
    return new TextDecoder('latin1').decode(trimmed);
  }
}

/**
 * UTF-16 text in either order: a byte-order mark decides, else the order that puts the zero bytes of
 * Latin text in the high byte, else `littleEndian` (the TIFF block's order).
 */
function decodeUtf16(bytes: Uint8Array, littleEndian: boolean): string {
  let body = bytes.subarray(0, bytes.length & ~1);
  let little = littleEndian;
  if (body[0] === 0xfe && body[1] === 0xff) [little, body] = [false, body.subarray(2)];
  else if (body[0] === 0xff && body[1] === 0xfe) [little, body] = [true, body.subarray(2)];
  else {
    let evenZeros = 0;
    let oddZeros = 0;
    for (let i = 0; i < body.length; i += 2) {
      if (body[i] === 0 && body[i + 1] !== 0) evenZeros++;
      if (body[i + 1] === 0 && body[i] !== 0) oddZeros++;
    }
    if (evenZeros !== oddZeros) little = oddZeros > evenZeros;
  }
  const text = new TextDecoder(little ? 'utf-16le' : 'utf-16be').decode(body);
  return text.replace(/\0+$/, '');
}

/** A UserComment value: its 8-byte charset prefix ("UNICODE\0", "ASCII\0\0\0", "JIS", or zeros) and text. */
export function decodeUserComment(value: Uint8Array, littleEndian: boolean): string {
  if (value.length < 8) return decodeBytes(value);
  const prefix = ascii(value, 0, 8);
  const body = value.subarray(8);
  if (prefix.startsWith('UNICODE')) return decodeUtf16(body, littleEndian);
  if (prefix.startsWith('JIS')) {
    try {
      return new TextDecoder('shift_jis').decode(body).replace(/\0+$/, '');
    } catch {
      return decodeBytes(body);
    }
  }
  return decodeBytes(body);
}

/** Reads one IFD's entries: tag → [type, count, value bytes]. null when it runs past the block. */
function readIfd(tiff: Uint8Array, view: DataView, offset: number, little: boolean): Map<number, [number, Uint8Array]> | null {
  if (offset < 8 || offset + 2 > tiff.length) return null;
  const count = view.getUint16(offset, little);
  if (offset + 2 + count * 12 > tiff.length) return null;
  const entries = new Map<number, [number, Uint8Array]>();
  for (let i = 0; i < count; i++) {
    const at = offset + 2 + i * 12;
    const tag = view.getUint16(at, little);
    const type = view.getUint16(at + 2, little);
    const size = (TYPE_SIZES[type] ?? 0) * view.getUint32(at + 4, little);
    if (!size) continue;
    const start = size <= 4 ? at + 8 : view.getUint32(at + 8, little);
    if (start + size > tiff.length) continue; // a broken value: skip it, keep the others
    entries.set(tag, [type, tiff.subarray(start, start + size)]);
  }
  return entries;
}

/** The text tags of a TIFF block ("II" or "MM", 42, IFD0 offset). null when it is not one. */
export function readExifText(tiff: Uint8Array | null): ExifText | null {
  if (!tiff || tiff.length < 8) return null;
  const order = ascii(tiff, 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  const little = order === 'II';
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (view.getUint16(2, little) !== 42) return null;
  const ifd0 = readIfd(tiff, view, view.getUint32(4, little), little);
  if (!ifd0) return null;
  const out: ExifText = { ifd0: {}, userComment: null };
  for (const [tag, [type, value]] of ifd0) if (type === 2) out.ifd0[tag] = decodeBytes(value);
  const pointer = ifd0.get(TAG_EXIF_IFD);
  if (pointer && pointer[1].length === 4) {
    const exifOffset = new DataView(pointer[1].buffer, pointer[1].byteOffset, 4).getUint32(0, little);
    const comment = readIfd(tiff, view, exifOffset, little)?.get(TAG_USER_COMMENT);
    if (comment) out.userComment = decodeUserComment(comment[1], little) || null;
  }
  return out;
}

/** The EXIF text of a JPEG or WebP file; null when it is neither or carries no readable EXIF. */
export function imageExifText(bytes: Uint8Array): ExifText | null {
  try {
    return readExifText(exifFromJpeg(bytes) ?? exifFromWebp(bytes));
  } catch {
    return null; // a guard: the readers check bounds, nothing above should throw
  }
}
