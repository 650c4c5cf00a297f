/**
 * Body of nodes kept raw: notes (Markdown, edited on double-click), PrimitiveNode (editable value),
 * subgraph instances (their promoted widgets), missing types.
 */
import { useState } from 'react';
import { graphStore } from '../store/graphStore';
import type { EditorNode } from '../workflow/types';
import { isSubgraphType } from '../store/subgraphNav';
import { MarkdownView } from './MarkdownView';
import { PromotedWidgets } from './PromotedWidgets';

function NoteBody({ node, text }: { node: EditorNode; text: string }) {
  const [editing, setEditing] = useState(text.trim() === '');
  if (!editing) {
    return (
      <div className="lg-note lg-note-view nodrag nowheel" title="Double-click to edit" onDoubleClick={() => setEditing(true)}>
        <MarkdownView text={text} />
      </div>
    );
  }
  return (
    <textarea
      className="lg-widget-input lg-note nodrag nowheel"
      rows={6}
      autoFocus={text.trim() !== ''}
      value={text}
      aria-label="note"
      onChange={(e) => graphStore.setRawWidget(node.id, 0, e.target.value)}
      onBlur={() => setEditing(text.trim() === '')}
    />
  );
}

export function RawNodeBody({ node, missing }: { node: EditorNode; missing: boolean }) {
  const values = node.raw?.widgets_values;
  const list = Array.isArray(values) ? values : [];
  if (node.type === 'Note' || node.type === 'MarkdownNote') {
    return <NoteBody node={node} text={String(list[0] ?? '')} />;
  }
  if (node.type === 'PrimitiveNode') {
    const v = list[0];
    return (
      <input
        className="lg-widget-input nodrag"
        value={String(v ?? '')}
        aria-label="value"
        onChange={(e) =>
          graphStore.setRawWidget(
            node.id,
            0,
            typeof v === 'number' && e.target.value.trim() !== '' && Number.isFinite(Number(e.target.value))
              ? Number(e.target.value)
              : e.target.value,
          )
        }
      />
    );
  }
  if (!missing && isSubgraphType(node.type)) return <PromotedWidgets node={node} />;
  if (!missing || list.length === 0) return null;
  return (
    <ul className="lg-raw-values" title="Values kept as they were in the file">
      {list.map((v, i) => (
        <li key={i}>{typeof v === 'string' ? v.slice(0, 60) : JSON.stringify(v)}</li>
      ))}
    </ul>
  );
}
