/** The dialog shown when an opened workflow needs node types or files this server does not have. */
import { useEffect } from 'react';
import { Store, useStore } from '../store/store';
import type { MissingReport } from '../workflow/missing';

export const missingStore = new Store<{ report: MissingReport | null; what: string }>({ report: null, what: '' });

/** Shows the dialog for `report` when something is missing. */
export function showMissing(report: MissingReport, what: string): void {
  const empty = report.nodeTypes.length === 0 && report.files.length === 0;
  missingStore.set({ report: empty ? null : report, what });
}

export function MissingDialog() {
  const { report, what } = useStore(missingStore, (s) => s);
  const close = () => missingStore.set({ report: null });
  useEffect(() => {
    if (!report) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') close();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [report]);
  if (!report) return null;
  return (
    <div className="lg-modal-backdrop" onMouseDown={close}>
      <div className="lg-modal" role="dialog" aria-label="Missing models and nodes" onMouseDown={(e) => e.stopPropagation()}>
        <h3>{what} needs what this server does not have</h3>
        {report.files.length > 0 && (
          <>
            <p>Missing files (put them in these folders of the server, then press Refresh or R):</p>
            <table className="lg-missing-files">
              <thead>
                <tr>
                  <th>file</th>
                  <th>goes in</th>
                  <th>used by</th>
                </tr>
              </thead>
              <tbody>
                {report.files.map((f) => (
                  <tr key={`${f.nodeId}:${f.input}`} data-file={f.file}>
                    <td>
                      <code>{f.file}</code>
                    </td>
                    <td>
                      <code>{f.folder}/</code>
                    </td>
                    <td>
                      #{f.nodeId} {f.nodeTitle} ({f.input})
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
        {report.nodeTypes.length > 0 && (
          <>
            <p>Missing node types (install the custom node packs that provide them into custom_nodes/):</p>
            <ul className="lg-missing-types">
              {report.nodeTypes.map((t) => (
                <li key={t}>
                  <code>{t}</code>
                </li>
              ))}
            </ul>
          </>
        )}
        <div className="lg-modal-buttons">
          <button onClick={close} autoFocus>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}
