/** Access to the canvas viewport for code outside React (file load/save); set by <ViewportBridge>. */
export interface ViewportApi {
  get: () => { x: number; y: number; zoom: number };
  set: (v: { x: number; y: number; zoom: number }) => void;
  fit: () => void;
  toFlow: (screen: { x: number; y: number }) => { x: number; y: number };
}

export const viewport: { api: ViewportApi | null } = { api: null };

/** ComfyUI's `extra.ds` (scale, offset in canvas units) for the current viewport. */
export function currentDs(): { scale: number; offset: [number, number] } | undefined {
  const v = viewport.api?.get();
  if (!v) return undefined;
  return { scale: v.zoom, offset: [v.x / v.zoom, v.y / v.zoom] };
}

/** Shows the workflow as saved (`extra.ds`), or fits it to the screen. */
export function restoreViewport(extra: Record<string, unknown>): void {
  const ds = extra.ds as { scale?: unknown; offset?: unknown } | undefined;
  const api = viewport.api;
  if (!api) return;
  const scale = Number(ds?.scale);
  const off = Array.isArray(ds?.offset) ? ds.offset.map(Number) : [];
  if (Number.isFinite(scale) && scale > 0 && off.length === 2 && off.every(Number.isFinite)) {
    api.set({ x: off[0] * scale, y: off[1] * scale, zoom: scale });
  } else {
    setTimeout(() => api.fit(), 30);
  }
}
