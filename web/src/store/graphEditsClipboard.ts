/**
 * Copy and paste of the editor graph's selection (Ctrl+C / Ctrl+V / Ctrl+Shift+V), on top of the
 * clipboard format in clipboard.ts. Kept out of graphStore.ts so the store holds only state and
 * undo recording; graphStore's copySelected/paste call these and commit what paste returns.
 */
import { copyNodes, pasteNodes, readClipboard, writeClipboard } from './clipboard';
import { type FlowEdge, type FlowNode, flowNodeToEditor, type GraphMeta, isLgNode, type LgNode, linkToEdge, nodeToFlow } from './flowModel';
import type { GraphState } from './graphStore';

/** Writes the selected nodes (and the links among them) to the clipboard; false when none is selected. */
export function copySelection(s: Pick<GraphState, 'nodes' | 'edges'>): boolean {
  const sel = s.nodes.filter((n): n is LgNode => isLgNode(n) && Boolean(n.selected)).map(flowNodeToEditor);
  if (sel.length === 0) return false;
  writeClipboard(
    copyNodes(
      sel,
      s.edges.map((e) => e.data!.link),
    ),
  );
  return true;
}

/**
 * The graph with the clipboard pasted (new ids, links between the copied nodes kept, the pasted
 * nodes selected alone); `withInputs` also keeps the links coming from nodes that were not copied.
 * Null when the clipboard holds no nodes.
 */
export function withPastedClipboard(
  s: Pick<GraphState, 'nodes' | 'edges' | 'meta'>,
  at?: { x: number; y: number },
  withInputs = false,
): { nodes: FlowNode[]; edges: FlowEdge[]; meta: GraphMeta } | null {
  const clip = readClipboard();
  if (!clip || clip.nodes.length === 0) return null;
  const existing = withInputs ? new Set(s.nodes.filter(isLgNode).map((n) => n.id)) : new Set<string>();
  const pasted = pasteNodes(clip, s.meta, at, existing);
  const nodes = [
    ...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)),
    ...pasted.nodes.map((n) => ({ ...nodeToFlow(n), selected: true })),
  ];
  return { nodes, edges: [...s.edges, ...pasted.links.map((l) => linkToEdge(l))], meta: pasted.meta };
}
