/**
 * Reads the text chunks of a PNG (tEXt, and uncompressed iTXt) — ComfyUI stores the UI
 * workflow under the keyword "workflow" and the API prompt under "prompt"; AUTOMATIC1111,
 * Forge and SD.Next store their generation settings as text under "parameters".
 */
const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

export class PngError extends Error {}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** tEXt is Latin-1 by the PNG spec; some writers put UTF-8 there, which is read as such when valid. */
function tEXtValue(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return latin1(bytes);
  }
}

/** All tEXt/iTXt keyword → text pairs of a PNG file. Throws PngError when it is not a PNG. */
export function pngTextChunks(data: ArrayBuffer | Uint8Array): Record<string, string> {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new PngError('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, string> = {};
  let pos = 8;
  while (pos + 8 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = latin1(bytes.subarray(pos + 4, pos + 8));
    const start = pos + 8;
    const end = start + length;
    if (end + 4 > bytes.length) throw new PngError(`PNG chunk "${type}" at byte ${pos} runs past the end of the file`);
    const body = bytes.subarray(start, end);
    if (type === 'tEXt') {
      const zero = body.indexOf(0);
      if (zero > 0) out[latin1(body.subarray(0, zero))] = tEXtValue(body.subarray(zero + 1));
    } else if (type === 'iTXt') {
      const zero = body.indexOf(0);
      const compressed = body[zero + 1];
      if (zero > 0 && compressed === 0) {
        let p = zero + 3;
        p = body.indexOf(0, p) + 1; // language tag
        p = body.indexOf(0, p) + 1; // translated keyword
        if (p > 0) out[latin1(body.subarray(0, zero))] = new TextDecoder('utf-8').decode(body.subarray(p));
      }
    } else if (type === 'IEND') {
      break;
    }
    pos = end + 4;
  }
  return out;
}

/** The UI workflow embedded in a PNG, or null when it has none. Throws on invalid JSON. */
export function workflowFromPng(data: ArrayBuffer | Uint8Array): unknown | null {
  const text = pngTextChunks(data).workflow;
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PngError(`PNG "workflow" text is not valid JSON: ${(e as Error).message}`);
  }
}

/** What documentFromPng finds: ComfyUI JSON, or the A1111 "parameters" text. */
export type PngDocument = { kind: 'workflow' | 'prompt'; data: unknown } | { kind: 'parameters'; data: string };

/**
 * What a PNG carries to open: its UI workflow, else the API prompt alone (what a ComfyUI server writes
 * for prompts queued over the API, which have no editor workflow; ComfyUI's editor then builds the
 * graph from the prompt), else the A1111 "parameters" text. null when it has none. Throws on invalid JSON.
 */
export function documentFromPng(data: ArrayBuffer | Uint8Array): PngDocument | null {
  const chunks = pngTextChunks(data);
  for (const kind of ['workflow', 'prompt'] as const) {
    const text = chunks[kind];
    if (text === undefined) continue;
    try {
      return { kind, data: JSON.parse(text) };
    } catch (e) {
      throw new PngError(`PNG "${kind}" text is not valid JSON: ${(e as Error).message}`);
    }
  }
  const parameters = chunks.parameters;
  return parameters !== undefined && parameters.trim() !== '' ? { kind: 'parameters', data: parameters } : null;
}
