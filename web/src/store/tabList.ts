/**
 * Pure rules of the workflow tab strip: which tab becomes active when one closes, what a new
 * tab is called, whether a tab has unsaved changes. The editor (editor/tabs.ts) applies them.
 */

export interface TabLike {
  id: number;
  name: string;
}

/** The tabs left after closing `closeId`, and which one is active then (null: none left). */
export function closeTabIn<T extends TabLike>(tabs: T[], activeId: number, closeId: number): { tabs: T[]; activeId: number | null } {
  const index = tabs.findIndex((t) => t.id === closeId);
  if (index < 0) return { tabs, activeId };
  const rest = tabs.filter((t) => t.id !== closeId);
  if (closeId !== activeId) return { tabs: rest, activeId };
  // The closed tab was active: its right neighbour takes over, else the left one (as browsers do).
  const next = rest[index] ?? rest[index - 1] ?? null;
  return { tabs: rest, activeId: next ? next.id : null };
}

/** "Untitled", then "Untitled 2", "Untitled 3", ... skipping names already open. */
export function untitledName(openNames: string[]): string {
  const taken = new Set(openNames);
  if (!taken.has('Untitled')) return 'Untitled';
  let n = 2;
  while (taken.has(`Untitled ${n}`)) n++;
  return `Untitled ${n}`;
}

/** The id for a new tab: one more than the largest in use. */
export function nextTabId(tabs: TabLike[]): number {
  return tabs.reduce((m, t) => Math.max(m, t.id), 0) + 1;
}

/** A tab has unsaved changes when its graph changed since it was opened or saved. */
export function tabDirty(revision: number, savedRevision: number): boolean {
  return revision !== savedRevision;
}
