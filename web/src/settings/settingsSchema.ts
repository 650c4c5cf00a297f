/**
 * The editor's settings: their ComfyUI ids (so a settings file moves between the two editors),
 * defaults, and how a stored value is read back. Pure: no React, no fetch.
 */

/** ComfyUI's setting ids (Comfy-Org/ComfyUI_frontend coreSettings.ts). */
export const SETTING_IDS = {
  linkRenderMode: 'Comfy.LinkRenderMode',
  snapToGrid: 'pysssss.SnapToGrid',
  gridSize: 'Comfy.SnapToGrid.GridSize',
  previewMethod: 'Comfy.Execution.PreviewMethod',
  theme: 'Comfy.ColorPalette',
} as const;

export type SettingKey = keyof typeof SETTING_IDS;

/** LiteGraph's link render modes, stored by ComfyUI as these numbers. */
export const LINK_MODES = [
  { value: 2, label: 'Spline' },
  { value: 1, label: 'Linear' },
  { value: 0, label: 'Straight' },
  { value: -1, label: 'Hidden' },
] as const;
export type LinkMode = (typeof LINK_MODES)[number]['value'];

/** "default" leaves the choice to the server's --preview-method (no preview_method is sent). */
export const PREVIEW_METHODS = ['auto', 'latent2rgb', 'taesd', 'none', 'default'] as const;
export type PreviewMethod = (typeof PREVIEW_METHODS)[number];

export const THEMES = ['dark', 'light'] as const;
export type Theme = (typeof THEMES)[number];

export interface EditorSettings {
  linkRenderMode: LinkMode;
  snapToGrid: boolean;
  gridSize: number;
  previewMethod: PreviewMethod;
  theme: Theme;
}

export const DEFAULT_SETTINGS: EditorSettings = {
  linkRenderMode: 2,
  snapToGrid: false,
  gridSize: 10,
  // The editor draws live previews; the server sends none unless a prompt asks for them.
  previewMethod: 'auto',
  theme: 'dark',
};

export const GRID_SIZE_RANGE = { min: 1, max: 500 } as const;

function oneOf<T>(allowed: readonly T[], value: unknown, fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** One stored value read as the setting `key` wants it; anything malformed gives the default. */
export function readSetting<K extends SettingKey>(key: K, value: unknown): EditorSettings[K] {
  const d = DEFAULT_SETTINGS;
  const read: { [P in SettingKey]: (v: unknown) => EditorSettings[P] } = {
    linkRenderMode: (v) =>
      oneOf(
        LINK_MODES.map((m) => m.value),
        v,
        d.linkRenderMode,
      ),
    snapToGrid: (v) => (typeof v === 'boolean' ? v : d.snapToGrid),
    gridSize: (v) =>
      typeof v === 'number' && Number.isFinite(v)
        ? Math.min(GRID_SIZE_RANGE.max, Math.max(GRID_SIZE_RANGE.min, Math.round(v)))
        : d.gridSize,
    previewMethod: (v) => oneOf(PREVIEW_METHODS, v, d.previewMethod),
    // A custom palette id is not one of ours: it falls back to dark, as the current look is.
    theme: (v) => oneOf(THEMES, v, d.theme),
  };
  return read[key](value);
}

/** The editor settings found in a GET /settings body (ComfyUI ids; other ids are ignored). */
export function settingsFromServer(stored: unknown): EditorSettings {
  const body = stored && typeof stored === 'object' ? (stored as Record<string, unknown>) : {};
  const out = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(SETTING_IDS) as SettingKey[]) {
    const id = SETTING_IDS[key];
    if (id in body) (out as Record<SettingKey, unknown>)[key] = readSetting(key, body[id]);
  }
  return out;
}

/** React Flow's edge type for a link render mode: spline → bezier, linear → straight, straight → step. */
export function edgeTypeFor(mode: LinkMode): 'default' | 'straight' | 'step' {
  if (mode === 1) return 'straight';
  if (mode === 0) return 'step';
  return 'default';
}

/** The value of extra_data.preview_method for a setting, or undefined to send none. */
export function previewMethodToSend(method: PreviewMethod): string | undefined {
  return method === 'default' ? undefined : method;
}
