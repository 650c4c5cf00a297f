/** Fuzzy node search (double-click on the canvas, or a link dropped on empty space). */
import { useMemo, useState } from 'react';
import { graphStore } from '../store/graphStore';
import { useStore } from '../store/store';
import { typeColor } from '../store/typeColors';
import { searchableDefs } from '../workflow/frontendNodes';
import { searchNodes, type SocketFilter } from '../workflow/search';

export interface SearchRequest {
  /** Screen position of the dialog. */
  screen: { x: number; y: number };
  /** Canvas position for the new node. */
  flow: { x: number; y: number };
  filter?: SocketFilter;
}

export function SearchDialog({
  request,
  onPick,
  onClose,
}: {
  request: SearchRequest;
  onPick: (type: string) => void;
  onClose: () => void;
}) {
  const defs = useStore(graphStore, (s) => s.defs);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const results = useMemo(() => searchNodes(searchableDefs(defs), query, request.filter, 30), [defs, query, request.filter]);
  const pick = (i: number) => results[i] && onPick(results[i].name);
  return (
    <div className="lg-search-backdrop" onMouseDown={onClose}>
      <div
        className="lg-search"
        role="dialog"
        aria-label="Add node"
        style={{ left: Math.min(request.screen.x, window.innerWidth - 360), top: Math.min(request.screen.y, window.innerHeight - 380) }}
        onMouseDown={(e) => e.stopPropagation()}
      >
        {request.filter && (
          <div className="lg-search-filter">
            {request.filter.side === 'input' ? 'takes' : 'gives'}{' '}
            <b style={{ color: typeColor(request.filter.type) }}>{request.filter.type}</b>
          </div>
        )}
        <input
          autoFocus
          placeholder="Search nodes…"
          value={query}
          aria-label="Search nodes"
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={(e) => {
            e.stopPropagation();
            if (e.key === 'ArrowDown') setActive((a) => Math.min(a + 1, results.length - 1));
            else if (e.key === 'ArrowUp') setActive((a) => Math.max(a - 1, 0));
            else if (e.key === 'Enter') pick(active);
            else if (e.key === 'Escape') onClose();
          }}
        />
        <ul>
          {results.map((d, i) => (
            <li
              key={d.name}
              className={i === active ? 'active' : ''}
              data-node-name={d.name}
              onMouseEnter={() => setActive(i)}
              onClick={() => pick(i)}
            >
              <span>{d.displayName}</span>
              <small>{d.category}</small>
            </li>
          ))}
          {results.length === 0 && <li className="lg-empty">No matching node</li>}
        </ul>
      </div>
    </div>
  );
}
