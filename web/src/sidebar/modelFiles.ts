/** The model folders and their files, from GET /models and GET /models/{folder}. */

export interface ModelFolder {
  key: string;
  files: string[];
}

async function getJson(path: string): Promise<unknown> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`GET ${path} failed: HTTP ${res.status}`);
  return res.json();
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Every model folder with its files; a folder that fails to list shows as empty. */
export async function listModelFolders(): Promise<ModelFolder[]> {
  const keys = strings(await getJson('/models'));
  return Promise.all(
    keys.map(async (key) => ({
      key,
      files: strings(await getJson(`/models/${encodeURIComponent(key)}`).catch(() => [])),
    })),
  );
}

/** The folders whose key or files contain `filter` (case-insensitive), with only the matching files. */
export function filterModels(folders: ModelFolder[], filter: string): ModelFolder[] {
  const q = filter.trim().toLowerCase();
  if (!q) return folders;
  return folders
    .map((f) => (f.key.toLowerCase().includes(q) ? f : { key: f.key, files: f.files.filter((name) => name.toLowerCase().includes(q)) }))
    .filter((f) => f.files.length > 0);
}
