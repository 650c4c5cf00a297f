/**
 * Subgraph entries of the node context menu (NodeMenu shows them), and the canvas gestures:
 * Ctrl+Shift+E converts the selection (ComfyUI's binding), double-clicking an instance enters it.
 * An instance's menu also un-promotes its promoted widgets (ComfyUI's "Un-Promote Widget").
 */
import { graphStore } from '../store/graphStore';
import { isLgNode } from '../store/flowModel';
import {
  convertSelection,
  demoteInstanceWidget,
  enterSubgraph,
  isSubgraphType,
  leaveSubgraph,
  promoteInnerWidget,
  subgraphNav,
  unpackInstance,
} from '../store/subgraphNav';
import { instanceDefinition, promotedWidgets } from '../workflow/subgraphWidgets';
import { viewport } from './viewport';
import type { EditorNode } from '../workflow/types';

type View = { x: number; y: number; zoom: number };
/** The view of each level left by entering a subgraph, put back when going up to it. */
const views: (View | null)[] = [];

/** Shows the inside of instance `id`, fitted to the screen. */
export function openSubgraph(id: string): void {
  const view = viewport.api?.get() ?? null;
  enterSubgraph(id);
  views[subgraphNav.get().frames.length - 1] = view;
  setTimeout(() => viewport.api?.fit(), 30);
}

/** Goes up to level `depth` (0: the workflow) with the view it had. */
export function goUp(depth: number): void {
  const view = views[depth] ?? null;
  leaveSubgraph(depth);
  views.length = depth;
  if (view) setTimeout(() => viewport.api?.set(view), 0);
}

export interface SubgraphMenuItem {
  label: string;
  kbd?: string;
  run: () => void;
}

const guarded = (fn: () => void) => () => {
  try {
    fn();
  } catch (e) {
    window.alert((e as Error).message);
  }
};

/** Menu entries for node `node` (the right-clicked one; the selection is made to include it). */
export function subgraphMenuItems(node: EditorNode): SubgraphMenuItem[] {
  const items: SubgraphMenuItem[] = [{ label: 'Convert to Subgraph', kbd: 'Ctrl+Shift+E', run: guarded(convertSelection) }];
  if (isSubgraphType(node.type) && node.raw && !node.type.startsWith('Subgraph')) {
    items.push({ label: 'Open Subgraph', run: guarded(() => openSubgraph(node.id)) });
    items.push({ label: 'Unpack Subgraph', run: guarded(() => unpackInstance(node.id)) });
    const { defs, meta } = graphStore.get();
    const found = instanceDefinition(node, { passthrough: meta.passthrough }, defs);
    for (const w of found ? promotedWidgets(node, found.def, found.inner, defs) : []) {
      items.push({ label: `Un-promote widget ${w.name}`, run: guarded(() => demoteInstanceWidget(node.id, w.index)) });
    }
  }
  const def = node.raw ? undefined : graphStore.get().defs[node.type];
  if (subgraphNav.get().frames.length > 0 && def) {
    for (const w of def.inputs.filter((i) => i.isWidget && !node.converted.includes(i.name))) {
      items.push({ label: `Promote widget ${w.name}`, run: guarded(() => promoteInnerWidget(node.id, w.name)) });
    }
  }
  return items;
}

function instanceAt(target: EventTarget | null): string | null {
  const el = target instanceof Element ? target : null;
  // Widgets keep their own double-click; so does the title text (it renames the node).
  if (!el || el.closest('input, textarea, select, button, .lg-node-title-text')) return null;
  const id = el.closest('.react-flow__node')?.getAttribute('data-id');
  const flow = id ? graphStore.get().nodes.find((n) => n.id === id) : undefined;
  if (!flow || !isLgNode(flow)) return null;
  const node = flow.data.node;
  return node.raw && isSubgraphType(node.type) && !node.type.startsWith('Subgraph') ? node.id : null;
}

/** Installs the keyboard shortcut and the double-click on instances; returns the uninstaller. */
export function installSubgraphGestures(): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (!(e.ctrlKey || e.metaKey) || !e.shiftKey || e.key.toLowerCase() !== 'e') return;
    if ((e.target as Element | null)?.closest?.('input, textarea, select, [contenteditable="true"]')) return;
    e.preventDefault();
    guarded(convertSelection)();
  };
  const onDoubleClick = (e: MouseEvent) => {
    const id = instanceAt(e.target);
    if (!id) return;
    // Before the node's own handlers (the title's double-click renames).
    e.stopPropagation();
    e.preventDefault();
    guarded(() => openSubgraph(id))();
  };
  window.addEventListener('keydown', onKey);
  window.addEventListener('dblclick', onDoubleClick, true);
  return () => {
    window.removeEventListener('keydown', onKey);
    window.removeEventListener('dblclick', onDoubleClick, true);
  };
}
