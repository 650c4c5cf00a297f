/** Test helpers: the bytes of a minimal PNG (signature, IHDR, the given chunks, IEND) with zero CRCs, which
 * the PNG text reader (png.ts) does not check. Used by the PNG metadata tests. */

/** One chunk: length, type, body, a zero CRC. */
export function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(
    [...type].map((c) => c.charCodeAt(0)),
    4,
  );
  out.set(body, 8);
  return out;
}

/** A PNG made of the signature, an IHDR, these chunks and IEND. */
export function pngOf(...chunks: Uint8Array[]): Uint8Array {
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', new Uint8Array(13)),
    ...chunks,
    pngChunk('IEND', new Uint8Array()),
  ];
  return concatBytes(...parts);
}

/** The byte arrays one after another. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
