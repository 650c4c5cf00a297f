/**
 * The /ws connection: JSON events and binary preview frames, reconnecting on loss.
 * Binary type 1 = 8-byte header (event 1, image format 1 JPEG / 2 PNG) + image bytes;
 * type 4 = event, metadata length, JSON metadata, image bytes.
 */

export type BinaryFrame =
  | { kind: 'preview'; mime: string; image: Uint8Array; nodeId?: string }
  | { kind: 'text'; nodeId: string; text: string }
  | { kind: 'unknown'; event: number };

/** Decodes one binary WebSocket frame. Throws on a frame too short for its header. */
export function parseBinaryFrame(data: ArrayBuffer): BinaryFrame {
  if (data.byteLength < 8) throw new Error(`binary frame of ${data.byteLength} bytes is shorter than its 8-byte header`);
  const view = new DataView(data);
  const event = view.getUint32(0);
  const second = view.getUint32(4);
  const bytes = new Uint8Array(data);
  if (event === 1) {
    return { kind: 'preview', mime: second === 2 ? 'image/png' : 'image/jpeg', image: bytes.subarray(8) };
  }
  if (event === 3 || event === 4) {
    if (8 + second > data.byteLength) throw new Error(`binary frame type ${event}: length ${second} runs past the end`);
    const head = new TextDecoder().decode(bytes.subarray(8, 8 + second));
    if (event === 3) return { kind: 'text', nodeId: head, text: new TextDecoder().decode(bytes.subarray(8 + second)) };
    const meta = JSON.parse(head) as { node_id?: string; display_node_id?: string; image_type?: string };
    return {
      kind: 'preview',
      mime: meta.image_type ?? 'image/jpeg',
      image: bytes.subarray(8 + second),
      nodeId: meta.display_node_id ?? meta.node_id,
    };
  }
  return { kind: 'unknown', event };
}

export interface SocketHandlers {
  onEvent: (type: string, data: Record<string, unknown>) => void;
  onBinary: (frame: BinaryFrame) => void;
  onOpenChange?: (open: boolean) => void;
}

/** Opens /ws?clientId=… and keeps it open; returns a function that closes it for good. */
export function connectSocket(clientId: string, handlers: SocketHandlers): () => void {
  let socket: WebSocket | null = null;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const open = () => {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(`${proto}//${location.host}/ws?clientId=${encodeURIComponent(clientId)}`);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => handlers.onOpenChange?.(true);
    socket.onmessage = (ev) => {
      try {
        if (typeof ev.data === 'string') {
          const msg = JSON.parse(ev.data) as { type: string; data: Record<string, unknown> };
          handlers.onEvent(msg.type, msg.data ?? {});
        } else {
          handlers.onBinary(parseBinaryFrame(ev.data as ArrayBuffer));
        }
      } catch (e) {
        console.warn('bad WebSocket message', e);
      }
    };
    socket.onclose = () => {
      handlers.onOpenChange?.(false);
      if (!closed) retry = setTimeout(open, 1000);
    };
  };
  open();
  return () => {
    closed = true;
    clearTimeout(retry);
    socket?.close();
  };
}
