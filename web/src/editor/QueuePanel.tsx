/** Queue and history: running/pending items, pause/resume, reorder, delete and clear, output gallery,
 * re-open a past workflow. */
import { useCallback, useEffect, useState } from 'react';
import { clearHistory, clearQueue, deleteHistory, getHistory, getQueueWithPause, setQueuePaused, viewUrl } from '../api/client';
import type { History, QueueState } from '../api/types';
import { runStore } from '../store/runStore';
import { useStore } from '../store/store';
import { formatDuration, runDurationMs, runImages } from '../workflow/gallery';
import { loadJson } from './files';
import { QueuePendingList } from './QueuePendingList';
import { imageHandlers } from './ImageViewer';
import { cancelRun } from './runner';

export function QueuePanel() {
  const version = useStore(runStore, (s) => s.queueVersion);
  const [queue, setQueue] = useState<QueueState & { paused: boolean }>({ queue_running: [], queue_pending: [], paused: false });
  const [history, setHistory] = useState<History>({});
  const reload = useCallback(async () => {
    try {
      const [q, h] = await Promise.all([getQueueWithPause(), getHistory(50)]);
      setQueue(q);
      setHistory(h);
    } catch (e) {
      runStore.notify((e as Error).message, 'error');
    }
  }, []);
  useEffect(() => {
    void reload();
  }, [version, reload]);
  const act = (fn: () => Promise<void>) => () =>
    void fn()
      .then(reload)
      .catch((e: Error) => runStore.notify(e.message, 'error'));
  const entries = Object.entries(history).reverse();
  return (
    <aside className="lg-queue" aria-label="Queue and history">
      <section>
        <h3>Running</h3>
        {queue.queue_running.length === 0 && <p className="lg-empty">Nothing running</p>}
        {queue.queue_running.map((item) => (
          <div key={item[1]} className="lg-queue-item running">
            <span>
              #{item[0]} {item[1].slice(0, 8)}
            </span>
            <button onClick={() => void cancelRun()}>Cancel</button>
          </div>
        ))}
        <h3>
          Pending ({queue.queue_pending.length}){queue.paused ? ' · paused' : ''}
          <button
            onClick={act(() => setQueuePaused(!queue.paused))}
            aria-pressed={queue.paused}
            title={queue.paused ? 'Start queued prompts again' : 'Start no new prompt (the running one finishes)'}
          >
            {queue.paused ? 'Resume' : 'Pause'}
          </button>
          <button onClick={act(clearQueue)} disabled={queue.queue_pending.length === 0}>
            Clear queue
          </button>
        </h3>
        <QueuePendingList items={queue.queue_pending} reload={reload} />
      </section>
      <section>
        <h3>
          History ({entries.length})
          <button onClick={act(clearHistory)} disabled={entries.length === 0}>
            Clear history
          </button>
        </h3>
        {entries.map(([id, entry]) => {
          const workflow = (entry.prompt?.[3] as { extra_pnginfo?: { workflow?: unknown } } | undefined)?.extra_pnginfo?.workflow;
          const status = entry.status?.status_str ?? (entry.status?.completed ? 'success' : '?');
          const duration = runDurationMs(entry.status?.messages);
          const images = runImages(entry.outputs);
          return (
            <div key={id} className={`lg-history-item status-${status}`} data-prompt-id={id}>
              <div className="lg-history-head">
                <span>
                  {id.slice(0, 8)} · {status}
                  <span className="lg-run-meta" data-testid="run-duration">
                    {duration !== null ? ` · ${formatDuration(duration)}` : ''}
                    {images.length ? ` · ${images.length} image${images.length > 1 ? 's' : ''}` : ''}
                  </span>
                </span>
                <button
                  disabled={!workflow}
                  title="Open the workflow of this run"
                  onClick={() => workflow && loadJson(workflow, `workflow of run ${id.slice(0, 8)}`)}
                >
                  Load
                </button>
                <button onClick={act(() => deleteHistory([id]))}>Delete</button>
              </div>
              <div className="lg-gallery">
                {images.map((img, i) => (
                  <img key={i} src={viewUrl(img)} alt={img.filename} loading="lazy" {...imageHandlers(images, i)} />
                ))}
              </div>
            </div>
          );
        })}
      </section>
    </aside>
  );
}
