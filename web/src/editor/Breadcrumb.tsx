/**
 * The path from the workflow into the subgraph on the canvas ("Workflow › Upscale pass");
 * each crumb goes back up to its level, writing the edits made inside back into the definition.
 * Also installs the subgraph gestures (Ctrl+Shift+E, double-click on an instance).
 */
import { useEffect } from 'react';
import { useStore } from '../store/store';
import { subgraphNav } from '../store/subgraphNav';
import { goUp, installSubgraphGestures } from './subgraphMenu';

export function Breadcrumb() {
  const frames = useStore(subgraphNav, (s) => s.frames);
  useEffect(() => installSubgraphGestures(), []);
  if (frames.length === 0) return null;
  return (
    <nav className="lg-breadcrumb" aria-label="Subgraph path">
      <button className="lg-crumb" onClick={() => goUp(0)}>
        Workflow
      </button>
      {frames.map((f, i) => (
        <span key={i}>
          <span className="lg-crumb-sep"> › </span>
          {i === frames.length - 1 ? (
            <span className="lg-crumb current" aria-current="page">
              {f.name}
            </span>
          ) : (
            <button className="lg-crumb" onClick={() => goUp(i + 1)}>
              {f.name}
            </button>
          )}
        </span>
      ))}
    </nav>
  );
}
