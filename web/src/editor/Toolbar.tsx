/** Top bar: run controls, file actions, undo/redo and status. */
import { graphStore } from '../store/graphStore';
import { runStore } from '../store/runStore';
import { useStore } from '../store/store';
import { workflowStore } from '../store/workflowStore';
import { clearGraph, exportApi, loadDefault, saveWorkflow } from './files';
import { refreshDefs } from './defsLoader';
import { cancelRun, queueGraph, showPlan } from './runner';
import { saveAs } from './WorkflowBrowser';

export interface ToolbarProps {
  batchCount: number;
  setBatchCount: (n: number) => void;
  openFilePicker: () => void;
  openBrowser: () => void;
  queueOpen: boolean;
  toggleQueue: () => void;
}

export function Toolbar({ batchCount, setBatchCount, openFilePicker, openBrowser, queueOpen, toggleQueue }: ToolbarProps) {
  const workflowName = useStore(workflowStore, (s) => s.name);
  const dirty = useStore(graphStore, (s) => s.revision) !== useStore(workflowStore, (s) => s.savedRevision);
  const canUndo = useStore(graphStore, (s) => s.canUndo);
  const canRedo = useStore(graphStore, (s) => s.canRedo);
  const remaining = useStore(runStore, (s) => s.queueRemaining);
  const connected = useStore(runStore, (s) => s.connected);
  const running = useStore(runStore, (s) => s.runningPromptId !== null || s.executing !== null);
  return (
    <header className="lg-toolbar">
      <strong className="lg-brand">latentgraph</strong>
      <div className="lg-group-buttons">
        <button className="lg-primary" title="Queue (Ctrl+Enter)" onClick={() => void queueGraph(batchCount)}>
          Queue
        </button>
        <button title="Queue at the front (Ctrl+Shift+Enter)" onClick={() => void queueGraph(batchCount, true)}>
          Queue front
        </button>
        <label title="Batch count">
          ×
          <input
            type="number"
            min={1}
            max={100}
            value={batchCount}
            aria-label="batch count"
            onChange={(e) => setBatchCount(Math.max(1, Math.min(100, Math.round(Number(e.target.value)) || 1)))}
          />
        </label>
        <button title="Cancel the running prompt (Ctrl+Alt+Enter)" onClick={() => void cancelRun()} disabled={!running}>
          Cancel
        </button>
        <button title="Show which nodes will run and which come from the cache" onClick={() => void showPlan()}>
          Plan
        </button>
      </div>
      <div className="lg-group-buttons">
        <button title="Undo (Ctrl+Z)" onClick={() => graphStore.undo()} disabled={!canUndo}>
          Undo
        </button>
        <button title="Redo (Ctrl+Y)" onClick={() => graphStore.redo()} disabled={!canRedo}>
          Redo
        </button>
      </div>
      <div className="lg-group-buttons">
        <button title="Templates and your saved workflows" onClick={openBrowser}>
          Workflows
        </button>
        <button title="Open a workflow (.json, or a .png, .jpg or .webp with one embedded) (Ctrl+O)" onClick={openFilePicker}>
          Open
        </button>
        <button title="Save into your workflows under a name" onClick={() => void saveAs()}>
          Save as
        </button>
        <button title="Save in UI format (Ctrl+S)" onClick={() => saveWorkflow()}>
          Save
        </button>
        <button title="Export in API format" onClick={() => exportApi()}>
          Export API
        </button>
        <button title="Load the default txt2img workflow" onClick={loadDefault}>
          Default
        </button>
        <button title="Start from an empty canvas" onClick={clearGraph}>
          Clear
        </button>
        <button title="Reload node types and file lists from the server" onClick={() => void refreshDefs()}>
          Refresh
        </button>
      </div>
      <div className="lg-status">
        <span
          className="lg-workflow-name"
          data-testid="workflow-name"
          data-dirty={dirty ? 'true' : 'false'}
          title={dirty ? 'changed since opened or saved' : undefined}
        >
          {workflowName}
          {dirty ? ' •' : ''}
        </span>
        <span className={connected ? 'lg-dot on' : 'lg-dot'} title={connected ? 'connected' : 'disconnected'} />
        <span data-testid="queue-remaining">queue: {remaining}</span>
        <button onClick={toggleQueue} aria-pressed={queueOpen}>
          {queueOpen ? 'Hide queue' : 'Queue & history'}
        </button>
      </div>
    </header>
  );
}
