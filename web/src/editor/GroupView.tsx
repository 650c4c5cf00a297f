/**
 * A titled group box; dragging its title moves the nodes inside. Double-clicking the title edits
 * it in place (Enter or leaving the field commits, Escape cancels), as a node's title does.
 */
import { type NodeProps, NodeResizer } from '@xyflow/react';
import { useEffect, useRef, useState } from 'react';
import { graphStore } from '../store/graphStore';
import type { GroupNode } from '../store/flowModel';

function GroupTitleInput({ title, onDone }: { title: string; onDone: (title: string | null) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const done = useRef(false);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  const finish = (commit: boolean) => {
    if (done.current) return;
    done.current = true;
    const text = input.current?.value.trim() ?? '';
    onDone(commit && text && text !== title ? text : null);
  };
  return (
    <input
      ref={input}
      className="lg-title-input nodrag"
      aria-label="group title"
      defaultValue={title}
      onKeyDown={(e) => {
        e.stopPropagation();
        if (e.key === 'Enter') finish(true);
        else if (e.key === 'Escape') finish(false);
      }}
      onBlur={() => finish(true)}
      onDoubleClick={(e) => e.stopPropagation()}
    />
  );
}

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
          <GroupTitleInput
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
