/**
 * A titled group box; dragging its title moves the nodes inside. Double-clicking the title edits
 * it in place (Enter or leaving the field commits, Escape cancels), as a node's title does.
 */
import { type NodeProps, NodeResizer } from '@xyflow/react';
import { useState } from 'react';
import { graphStore } from '../store/graphStore';
import type { GroupNode } from '../store/flowModel';
import { InlineTitleInput } from './InlineTitleInput';

export function GroupView({ id, data, selected }: NodeProps<GroupNode>) {
  const g = data.group;
  const [editing, setEditing] = useState(false);
  return (
    <div className="lg-group" style={{ borderColor: g.color ?? '#3f789e', background: `${g.color ?? '#3f789e'}33` }}>
      <NodeResizer isVisible={Boolean(selected)} minWidth={120} minHeight={60} onResizeStart={() => graphStore.recordStep()} />
      <div
        className="lg-group-title"
        style={{ background: g.color ?? '#3f789e', fontSize: Math.min(g.font_size ?? 20, 32) }}
        onDoubleClick={(e) => {
          e.stopPropagation();
          setEditing(true);
        }}
      >
        {editing ? (
          <InlineTitleInput
            label="group title"
            title={g.title}
            onDone={(title) => {
              setEditing(false);
              if (title !== null) graphStore.setGroupTitle(id, title);
            }}
          />
        ) : (
          g.title
        )}
      </div>
    </div>
  );
}
