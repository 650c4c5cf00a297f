/**
 * The in-place title editor of nodes and groups (double-click a title): focused with the text
 * selected; Enter or leaving the field commits, Escape cancels. `onDone` gets the new title, or
 * null when cancelled, emptied or unchanged; it is called once.
 */
import { useEffect, useRef } from 'react';

export function InlineTitleInput({ title, label, onDone }: { title: string; label: string; onDone: (title: string | null) => void }) {
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
      aria-label={label}
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
