/**
 * A node's title bar: the collapse dot at its left (as in ComfyUI), the title, edited in place
 * on double-click or from the menu's "Title" (Enter commits, Escape cancels), and the badges.
 */
import type { ReactNode } from 'react';
import { graphStore } from '../store/graphStore';
import { nodeEdits, titleEditor } from '../store/nodeEdits';
import { useStore } from '../store/store';
import type { EditorNode } from '../workflow/types';
import { InlineTitleInput } from './InlineTitleInput';

function TitleInput({ node }: { node: EditorNode }) {
  return (
    <InlineTitleInput
      title={node.title ?? ''}
      label="node title"
      onDone={(title) => {
        if (title) graphStore.setTitle(node.id, title);
        titleEditor.set({ nodeId: null });
      }}
    />
  );
}

export function NodeTitle({
  node,
  collapsed,
  tooltip,
  children,
}: {
  node: EditorNode;
  collapsed: boolean;
  tooltip: string;
  children?: ReactNode;
}) {
  const editing = useStore(titleEditor, (s) => s.nodeId === node.id);
  return (
    <div
      className="lg-node-title"
      onDoubleClick={(e) => {
        e.stopPropagation();
        titleEditor.set({ nodeId: node.id });
      }}
      style={node.color ? { background: node.color } : undefined}
    >
      <button
        className="lg-collapse-toggle nodrag"
        aria-label={collapsed ? 'expand node' : 'collapse node'}
        title={collapsed ? 'Expand (Alt+C)' : 'Collapse (Alt+C)'}
        onClick={() => nodeEdits.setCollapsed(node.id, !collapsed)}
        onDoubleClick={(e) => e.stopPropagation()}
      />
      {editing ? (
        <TitleInput node={node} />
      ) : (
        <span className="lg-node-title-text" title={tooltip}>
          {node.title}
        </span>
      )}
      {children}
    </div>
  );
}
