/** The node library: every node type in folders by category, a search box, click or drag to add. */
import { useMemo, useState } from 'react';
import { graphStore } from '../store/graphStore';
import { useStore } from '../store/store';
import { searchableDefs } from '../workflow/frontendNodes';
import { buildNodeTree, type CategoryFolder } from './nodeTree';
import { placeAtViewCentre, startDrag } from './placeNode';

function Folder({ folder, open, toggle }: { folder: CategoryFolder; open: (path: string) => boolean; toggle: (path: string) => void }) {
  const expanded = open(folder.path);
  return (
    <li className="lg-tree-folder" data-category={folder.path}>
      <button className="lg-tree-toggle" aria-expanded={expanded} onClick={() => toggle(folder.path)}>
        <span className="lg-tree-caret">{expanded ? '▾' : '▸'}</span>
        {folder.name}
        <small>{folder.count}</small>
      </button>
      {expanded && <FolderItems folder={folder} open={open} toggle={toggle} />}
    </li>
  );
}

function FolderItems({
  folder,
  open,
  toggle,
}: {
  folder: CategoryFolder;
  open: (path: string) => boolean;
  toggle: (path: string) => void;
}) {
  return (
    <ul className="lg-tree">
      {folder.folders.map((f) => (
        <Folder key={f.path} folder={f} open={open} toggle={toggle} />
      ))}
      {folder.nodes.map((def) => (
        <li
          key={def.name}
          className="lg-tree-item"
          data-node-name={def.name}
          title={def.description || def.name}
          draggable
          onDragStart={(e) => startDrag(e, { nodeType: def.name })}
          onClick={() => placeAtViewCentre({ nodeType: def.name })}
        >
          {def.displayName}
        </li>
      ))}
    </ul>
  );
}

export function NodeLibrary() {
  const defs = useStore(graphStore, (s) => s.defs);
  const [query, setQuery] = useState('');
  // Browsing, folders open on click; a search opens every folder it found something in, and a
  // click closes one of those until the search changes.
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set());
  const [closedInSearch, setClosedInSearch] = useState<Set<string>>(() => new Set());
  const tree = useMemo(() => buildNodeTree(searchableDefs(defs), query), [defs, query]);
  const searching = query.trim() !== '';
  const isOpen = (path: string) => (searching ? !closedInSearch.has(path) : expanded.has(path));
  const flip = (set: Set<string>, path: string) => {
    const next = new Set(set);
    if (next.has(path)) next.delete(path);
    else next.add(path);
    return next;
  };
  const toggle = (path: string) => (searching ? setClosedInSearch((s) => flip(s, path)) : setExpanded((s) => flip(s, path)));
  return (
    <section className="lg-library" aria-label="Node library">
      <input
        className="lg-library-filter"
        type="search"
        placeholder="Search nodes…"
        aria-label="Search the node library"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setClosedInSearch(new Set());
        }}
      />
      <div className="lg-library-body">
        <FolderItems folder={tree} open={isOpen} toggle={toggle} />
        {tree.count === 0 && <p className="lg-empty">No matching node</p>}
      </div>
    </section>
  );
}
