/** The model library: the model folders and their files; click or drag a file to add its loader node. */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { graphStore } from '../store/graphStore';
import { useStore } from '../store/store';
import { filterModels, listModelFolders, type ModelFolder } from './modelFiles';
import { loaderFor } from './modelLoaders';
import { placeAtViewCentre, startDrag, type PlacedNode } from './placeNode';

function FolderView({ folder, open, toggle }: { folder: ModelFolder; open: boolean; toggle: () => void }) {
  const defs = useStore(graphStore, (s) => s.defs);
  const loader = loaderFor(folder.key, defs);
  const item = (file: string): PlacedNode | null => (loader ? { nodeType: loader.nodeType, widgets: { [loader.input]: file } } : null);
  return (
    <li className="lg-tree-folder" data-model-folder={folder.key}>
      <button className="lg-tree-toggle" aria-expanded={open} onClick={toggle}>
        <span className="lg-tree-caret">{open ? '▾' : '▸'}</span>
        {folder.key}
        <small>{folder.files.length}</small>
      </button>
      {open && (
        <ul className="lg-tree">
          {folder.files.map((file) => {
            const placed = item(file);
            return (
              <li
                key={file}
                className={placed ? 'lg-tree-item' : 'lg-tree-item lg-no-loader'}
                data-model-file={file}
                title={placed ? `${file} — adds ${placed.nodeType}` : `${file} — no loader node for ${folder.key}`}
                draggable={Boolean(placed)}
                onDragStart={(e) => placed && startDrag(e, placed)}
                onClick={() => placed && placeAtViewCentre(placed)}
              >
                {file.replace(/\.(safetensors|ckpt|pt|pth|bin|sft)$/i, '')}
              </li>
            );
          })}
          {folder.files.length === 0 && <li className="lg-empty">empty</li>}
        </ul>
      )}
    </li>
  );
}

export function ModelLibrary() {
  const [folders, setFolders] = useState<ModelFolder[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set());
  const refresh = useCallback(() => {
    setError(null);
    listModelFolders().then(setFolders, (e: Error) => setError(e.message));
  }, []);
  useEffect(refresh, [refresh]);
  const shown = useMemo(() => filterModels(folders ?? [], filter), [folders, filter]);
  const filtering = filter.trim() !== '';
  const toggle = (key: string) =>
    setExpanded((old) => {
      const next = new Set(old);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  return (
    <section className="lg-library" aria-label="Model library">
      <div className="lg-library-row">
        <input
          className="lg-library-filter"
          type="search"
          placeholder="Filter models…"
          aria-label="Filter the model library"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <button title="List the model folders again" onClick={refresh}>
          ↻
        </button>
      </div>
      <div className="lg-library-body">
        {error && <p className="lg-error-text">{error}</p>}
        {folders === null && !error && <p className="lg-empty">Loading…</p>}
        <ul className="lg-tree">
          {shown.map((f) => (
            <FolderView key={f.key} folder={f} open={filtering || expanded.has(f.key)} toggle={() => toggle(f.key)} />
          ))}
        </ul>
        {folders !== null && shown.length === 0 && <p className="lg-empty">No matching model</p>}
      </div>
    </section>
  );
}
