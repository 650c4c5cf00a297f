/** Fuzzy node search for the add-node dialog, optionally filtered by a socket type. */
import type { InputDef, NodeDef, NodeDefs } from './nodeDefs';
import { typesCompatible } from './typeCompat';

/** Subsequence match score of `query` in `text` (higher is better), or -1 when it does not match. */
export function fuzzyScore(query: string, text: string): number {
  const q = query.toLowerCase().replace(/\s+/g, '');
  const t = text.toLowerCase();
  if (!q) return 0;
  if (t.includes(q)) return 1000 - t.indexOf(q) * 2 - (t.length - q.length) * 0.1 + (t.startsWith(q) ? 200 : 0);
  let score = 0;
  let pos = -1;
  let run = 0;
  for (const ch of q) {
    const next = t.indexOf(ch, pos + 1);
    if (next < 0) return -1;
    run = next === pos + 1 ? run + 1 : 0;
    score += 10 + run * 5 - Math.min(next - pos - 1, 10);
    pos = next;
  }
  return score;
}

/** A filter: the new node must offer an input (side "input") or output ("output") of this type. */
export interface SocketFilter {
  side: 'input' | 'output';
  type: string;
}

/** The first input of `def` that accepts `type`: a socket first, else a widget (to be converted). */
export function compatibleInput(def: NodeDef, type: string): InputDef | undefined {
  const socket = def.inputs.find((i) => !i.isWidget && typesCompatible(type, i.type));
  if (socket || type === '*') return socket;
  return def.inputs.find((i) => i.isWidget && typesCompatible(type, i.type));
}

/** Index of the first output of `def` whose type fits an input of `type`, or -1. */
export function compatibleOutput(def: NodeDef, type: string): number {
  return def.outputs.findIndex((o) => typesCompatible(o.type, type));
}

function fits(def: NodeDef, filter: SocketFilter): boolean {
  return filter.side === 'input' ? compatibleInput(def, filter.type) !== undefined : compatibleOutput(def, filter.type) >= 0;
}

/** Node definitions matching `query`, best first, limited to those fitting `filter`. */
export function searchNodes(defs: NodeDefs, query: string, filter?: SocketFilter, limit = 50): NodeDef[] {
  const scored: [number, NodeDef][] = [];
  for (const def of Object.values(defs)) {
    if (filter && !fits(def, filter)) continue;
    const score = Math.max(fuzzyScore(query, def.displayName), fuzzyScore(query, def.name) - 1, fuzzyScore(query, def.category) - 50);
    if (score >= 0) scored.push([score, def]);
  }
  scored.sort((a, b) => b[0] - a[0] || a[1].displayName.localeCompare(b[1].displayName));
  return scored.slice(0, limit).map(([, d]) => d);
}
