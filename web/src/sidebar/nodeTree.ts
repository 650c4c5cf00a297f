/**
 * The node library as a tree of categories: each node type sits in the folder its `category`
 * names ("loaders/video" → loaders › video). A search keeps only the matching types, ranked by the
 * add-node search (workflow/search.ts), so the library and the search dialog always agree.
 */
import type { NodeDef, NodeDefs } from '../workflow/nodeDefs';
import { searchNodes } from '../workflow/search';

export interface CategoryFolder {
  /** The full category path, "loaders/video": the folder's key for expanding. */
  path: string;
  name: string;
  folders: CategoryFolder[];
  nodes: NodeDef[];
  /** Node types in this folder and all below it. */
  count: number;
}

function folderAt(root: CategoryFolder, parts: string[]): CategoryFolder {
  let folder = root;
  for (const name of parts) {
    const path = folder.path ? `${folder.path}/${name}` : name;
    let next = folder.folders.find((f) => f.name === name);
    if (!next) {
      next = { path, name, folders: [], nodes: [], count: 0 };
      folder.folders.push(next);
    }
    folder = next;
  }
  return folder;
}

function finish(folder: CategoryFolder, sortNodes: boolean): number {
  folder.folders.sort((a, b) => a.name.localeCompare(b.name));
  if (sortNodes) folder.nodes.sort((a, b) => a.displayName.localeCompare(b.displayName));
  folder.count = folder.nodes.length + folder.folders.reduce((n, f) => n + finish(f, sortNodes), 0);
  return folder.count;
}

/** The tree of `defs` (alphabetical), or of those matching `query` (best match first in each folder). */
export function buildNodeTree(defs: NodeDefs, query = ''): CategoryFolder {
  const root: CategoryFolder = { path: '', name: '', folders: [], nodes: [], count: 0 };
  const searching = query.trim() !== '';
  const shown = searching ? searchNodes(defs, query, undefined, Infinity) : Object.values(defs);
  for (const def of shown) {
    const parts = def.category.split('/').filter(Boolean);
    folderAt(root, parts).nodes.push(def);
  }
  finish(root, !searching);
  return root;
}
