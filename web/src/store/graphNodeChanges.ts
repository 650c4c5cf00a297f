/**
 * React Flow's node change stream applied to the editor graph: moves, resizes and selection
 * (adds and removals go through the store's own edits instead). A drag is one undo step, recorded
 * before its first move, and dragging a group carries the nodes inside it. Kept out of
 * graphStore.ts so the store holds only state and undo recording; the drag in progress is the
 * only state here, and the store resets it when another workflow is shown.
 */
import { applyNodeChanges, type NodeChange } from '@xyflow/react';
import { type FlowNode, type GroupNode, settleResizes } from './flowModel';
import { nodesInside } from './graphEditsGroups';

type PositionChange = Extract<NodeChange<FlowNode>, { type: 'position' }>;

export class NodeChangeStream {
  private dragChildren = new Map<string, string[]>();
  private dragging = false;

  /** Forgets the drag in progress (a different graph is about to be shown). */
  reset(): void {
    this.dragging = false;
    this.dragChildren.clear();
  }

  /**
   * The nodes after `changes` to `before`, and whether the workflow itself changed (moved or
   * resized, not only selected); null when no change applies. `onDragStart` runs when a drag
   * begins, before anything moves (the store records the undo step there).
   */
  apply(
    changes: NodeChange<FlowNode>[],
    before: FlowNode[],
    onDragStart: () => void,
  ): { nodes: FlowNode[]; touchesWorkflow: boolean } | null {
    const kept = changes.filter((c) => c.type !== 'remove' && c.type !== 'add' && c.type !== 'replace');
    if (kept.length === 0) return null;
    const moves = kept.filter((c): c is PositionChange => c.type === 'position');
    if (!this.dragging && moves.some((c) => c.dragging)) {
      // A drag starts: one undo step for the whole drag, recorded before the first move.
      this.dragging = true;
      onDragStart();
    }
    let nodes = settleResizes(applyNodeChanges(kept, before), kept);
    const moved = new Set(moves.map((c) => c.id));
    for (const c of moves) {
      const old = before.find((n) => n.id === c.id);
      if (!c.position || !old || old.type !== 'group') continue;
      let children = this.dragChildren.get(c.id);
      if (!children) {
        children = nodesInside(old as GroupNode, before);
        this.dragChildren.set(c.id, children);
      }
      const dx = c.position.x - old.position.x;
      const dy = c.position.y - old.position.y;
      nodes = nodes.map((n) =>
        children.includes(n.id) && !moved.has(n.id) ? { ...n, position: { x: n.position.x + dx, y: n.position.y + dy } } : n,
      );
    }
    if (moves.some((c) => c.dragging === false)) this.reset();
    const touchesWorkflow = moves.length > 0 || kept.some((c) => c.type === 'dimensions' && c.resizing);
    return { nodes, touchesWorkflow };
  }
}
