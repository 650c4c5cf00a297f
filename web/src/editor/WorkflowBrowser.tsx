/** The workflows browser: the server's templates (workflows/) and the user's saved workflows; save as. */
import { useEffect, useState } from 'react';
import {
  getTemplate,
  getUserWorkflow,
  listTemplates,
  listUserWorkflows,
  saveUserWorkflow,
  type TemplateEntry,
  workflowFileName,
} from '../api/library';
import { runStore } from '../store/runStore';
import { markSaved, workflowStore } from '../store/workflowStore';
import { currentWorkflow, loadJson } from './files';
import { openInNewTab } from './tabs';

/** Asks for a name and saves the current workflow into the user's workflows. */
export async function saveAs(): Promise<void> {
  const current = workflowStore.get();
  const suggested = current.file ?? `${current.name.replace(/\.json$/i, '')}.json`;
  const name = window.prompt('Save workflow as', suggested);
  if (name === null) return;
  try {
    const file = workflowFileName(name);
    try {
      await saveUserWorkflow(file, currentWorkflow(), file === current.file);
    } catch (e) {
      if (!(e as Error).message.endsWith('exists') || !window.confirm(`${file} exists. Replace it?`)) throw e;
      await saveUserWorkflow(file, currentWorkflow(), true);
    }
    markSaved(file, file);
    runStore.notify(`Saved ${file}`, 'info');
  } catch (e) {
    runStore.notify(`Could not save: ${(e as Error).message}`, 'error');
  }
}

export function WorkflowBrowser({ onClose }: { onClose: () => void }) {
  const [templates, setTemplates] = useState<TemplateEntry[] | null>(null);
  const [saved, setSaved] = useState<string[] | null>(null);
  useEffect(() => {
    listTemplates().then(setTemplates, (e: Error) => {
      setTemplates([]);
      runStore.notify(e.message, 'error');
    });
    listUserWorkflows().then(setSaved, (e: Error) => {
      setSaved([]);
      runStore.notify(e.message, 'error');
    });
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  /** Opens a workflow in the current tab, or (`newTab`: middle click or the ↗ button) in a new one. */
  const open = async (what: string, file: string | null, fetchIt: () => Promise<unknown>, newTab = false) => {
    try {
      const data = await fetchIt();
      onClose();
      const load = () => {
        if (loadJson(data, what)) markSaved(what, file);
      };
      if (newTab) openInNewTab(load);
      else load();
    } catch (e) {
      runStore.notify(`Could not open ${what}: ${(e as Error).message}`, 'error');
    }
  };

  return (
    <div className="lg-modal-backdrop" onMouseDown={onClose}>
      <div className="lg-modal lg-browser" role="dialog" aria-label="Workflows" onMouseDown={(e) => e.stopPropagation()}>
        <h3>Workflows</h3>
        <section aria-label="My workflows">
          <h4>My workflows</h4>
          {saved === null && <p>loading…</p>}
          {saved?.length === 0 && <p className="lg-muted">None saved yet: use “Save as”.</p>}
          <ul>
            {saved?.map((f) => (
              <li key={f}>
                <button
                  data-workflow={f}
                  onClick={() => void open(f, f, () => getUserWorkflow(f))}
                  onAuxClick={(e) => e.button === 1 && void open(f, f, () => getUserWorkflow(f), true)}
                >
                  {f.replace(/\.json$/i, '')}
                </button>
                <button
                  className="lg-open-new-tab"
                  aria-label={`open ${f} in new tab`}
                  title="Open in a new tab"
                  onClick={() => void open(f, f, () => getUserWorkflow(f), true)}
                >
                  ↗
                </button>
              </li>
            ))}
          </ul>
        </section>
        <section aria-label="Templates">
          <h4>Templates</h4>
          {templates === null && <p>loading…</p>}
          <ul className="lg-templates">
            {templates?.map((t) => (
              <li key={t.name}>
                <button
                  data-template={t.name}
                  title={t.description}
                  onClick={() => void open(t.title, null, () => getTemplate(t.name))}
                  onAuxClick={(e) => e.button === 1 && void open(t.title, null, () => getTemplate(t.name), true)}
                >
                  {t.title}
                </button>
                <button
                  className="lg-open-new-tab"
                  aria-label={`open ${t.title} in new tab`}
                  title="Open in a new tab"
                  onClick={() => void open(t.title, null, () => getTemplate(t.name), true)}
                >
                  ↗
                </button>
              </li>
            ))}
          </ul>
        </section>
        <div className="lg-modal-buttons">
          <button onClick={onClose}>Close</button>
        </div>
      </div>
    </div>
  );
}
