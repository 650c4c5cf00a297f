/** The "Graph | App" switch at the top right of the editor: the canvas, or the app view's form. */
import { useStore } from '../store/store';
import { appViewStore, setAppViewOpen } from './appViewStore';

export function AppViewToggle() {
  const open = useStore(appViewStore, (s) => s.open);
  return (
    <div className="lg-view-toggle" role="group" aria-label="View">
      <button aria-pressed={!open} title="The node graph" onClick={() => setAppViewOpen(false)}>
        Graph
      </button>
      <button
        aria-pressed={open}
        title="App view: the chosen widgets as a form, Queue and the latest images"
        onClick={() => setAppViewOpen(true)}
      >
        App
      </button>
    </div>
  );
}
