/** Copy/paste of nodes with the links between them (kept in memory and localStorage). */
import type { EditorLink, EditorNode } from '../workflow/types';
import type { GraphMeta } from './flowModel';

export interface Clip {
  nodes: EditorNode[];
  /** Links between the copied nodes. */
  links: EditorLink[];
  /** Links from other nodes into the copied ones (restored by Ctrl+Shift+V). */
  incoming?: EditorLink[];
}

const KEY = 'latentgraph.clipboard';
let memory: Clip | null = null;

export function copyNodes(nodes: EditorNode[], links: EditorLink[]): Clip {
  const ids = new Set(nodes.map((n) => n.id));
  return {
    nodes: structuredClone(nodes),
    links: links.filter((l) => ids.has(l.source) && ids.has(l.target)).map((l) => ({ ...l })),
    incoming: links.filter((l) => !ids.has(l.source) && ids.has(l.target)).map((l) => ({ ...l })),
  };
}

export function writeClipboard(clip: Clip): void {
  memory = clip;
  try {
    localStorage.setItem(KEY, JSON.stringify(clip));
  } catch {
    /* storage full or unavailable: the in-memory copy still works */
  }
}

export function readClipboard(): Clip | null {
  try {
    const text = localStorage.getItem(KEY);
    if (text) {
      const clip = JSON.parse(text) as Clip;
      if (Array.isArray(clip.nodes) && Array.isArray(clip.links)) return clip;
    }
  } catch {
    /* unreadable: fall back to memory */
  }
  return memory;
}

/**
 * New nodes and links for a paste: fresh ids, positions moved to `at` (or offset by 40).
 * `keepInputsFrom` lists existing node ids whose links into the copied nodes are restored.
 */
export function pasteNodes(
  clip: Clip,
  meta: GraphMeta,
  at?: { x: number; y: number },
  keepInputsFrom: Set<string> = new Set(),
): { nodes: EditorNode[]; links: EditorLink[]; meta: GraphMeta } {
  const minX = Math.min(...clip.nodes.map((n) => n.pos[0]));
  const minY = Math.min(...clip.nodes.map((n) => n.pos[1]));
  const dx = at ? at.x - minX : 40;
  const dy = at ? at.y - minY : 40;
  const idMap = new Map<string, string>();
  let lastNodeId = meta.lastNodeId;
  const nodes = clip.nodes.map((n) => {
    const id = String(++lastNodeId);
    idMap.set(n.id, id);
    return { ...structuredClone(n), id, pos: [Math.round(n.pos[0] + dx), Math.round(n.pos[1] + dy)] as [number, number] };
  });
  let lastLinkId = meta.lastLinkId;
  const links = clip.links.map((l) => ({ ...l, id: ++lastLinkId, source: idMap.get(l.source)!, target: idMap.get(l.target)! }));
  for (const l of clip.incoming ?? []) {
    if (keepInputsFrom.has(l.source)) links.push({ ...l, id: ++lastLinkId, target: idMap.get(l.target)! });
  }
  return { nodes, links, meta: { ...meta, lastNodeId, lastLinkId } };
}
