/** A titled group box; dragging its title moves the nodes inside. */
import { type NodeProps, NodeResizer } from '@xyflow/react';
import { graphStore } from '../store/graphStore';
import type { GroupNode } from '../store/flowModel';

export function GroupView({ id, data, selected }: NodeProps<GroupNode>) {
  const g = data.group;
  const rename = () => {
    const title = window.prompt('Group title', g.title);
    if (title !== null) graphStore.setGroupTitle(id, title);
  };
  return (
    <div className="lg-group" style={{ borderColor: g.color ?? '#3f789e', background: `${g.color ?? '#3f789e'}33` }}>
      <NodeResizer isVisible={Boolean(selected)} minWidth={120} minHeight={60} onResizeStart={() => graphStore.recordStep()} />
      <div
        className="lg-group-title"
        style={{ background: g.color ?? '#3f789e', fontSize: Math.min(g.font_size ?? 20, 32) }}
        onDoubleClick={rename}
      >
        {g.title}
      </div>
    </div>
  );
}
