/**
 * The app view: the workflow's chosen widgets as one vertical form (the canvas's own widget
 * components, writing into the graph), a Queue button with the run's progress, and the latest
 * images of the chosen output nodes (every output node when none is chosen) from runs queued from
 * this tab, each under its node's title. Fields and chosen outputs are moved up and down and removed here.
 */
import { viewUrl } from '../api/client';
import { imageHandlers } from '../editor/ImageViewer';
import { queueGraph } from '../editor/runner';
import { tabStore } from '../editor/tabs';
import { UploadWidget } from '../editor/UploadWidget';
import { ControlWidget, Widget } from '../editor/widgets';
import { graphStore } from '../store/graphStore';
import { isLgNode } from '../store/flowModel';
import { runStore } from '../store/runStore';
import { useStore } from '../store/store';
import { type AppOutput, appOutputs, type FormField, formFields, nodeLabel, outputsQueuedFrom } from './appForm';
import { moveAppOutput, moveInAppView, removeAppOutput, removeFromAppView } from './appViewStore';
import { appFields, appOutputNodeIds } from './linearData';

function useGraphNodes() {
  const flowNodes = useStore(graphStore, (s) => s.nodes);
  return flowNodes.filter(isLgNode).map((n) => n.data.node);
}

function FieldRow({ field, count }: { field: FormField; count: number }) {
  const { node, input } = field;
  return (
    <div className="lg-app-field" data-field={`${field.nodeId}:${field.widget}`} aria-label={field.label} role="group">
      <div className="lg-app-field-head">
        <span className="lg-app-field-label">{field.label}</span>
        <span className="lg-app-field-tools">
          <button
            aria-label={`move ${field.label} up`}
            title="Move up"
            disabled={field.index === 0}
            onClick={() => moveInAppView(field.index, -1)}
          >
            ↑
          </button>
          <button
            aria-label={`move ${field.label} down`}
            title="Move down"
            disabled={field.index === count - 1}
            onClick={() => moveInAppView(field.index, 1)}
          >
            ↓
          </button>
          <button aria-label={`remove ${field.label}`} title="Remove from the app view" onClick={() => removeFromAppView(field.index)}>
            ×
          </button>
        </span>
      </div>
      {node && input ? (
        <div className="lg-app-field-body">
          <Widget input={input} value={node.widgets[input.name]} onChange={(v) => graphStore.setWidget(node.id, input.name, v)} />
          {input.control && (
            <ControlWidget value={node.controls[input.name] ?? 'fixed'} onChange={(v) => graphStore.setControl(node.id, input.name, v)} />
          )}
          {input.upload && <UploadWidget nodeId={node.id} input={input} value={node.widgets[input.name]} />}
        </div>
      ) : (
        <p className="lg-app-field-problem">Cannot be edited here: {field.problem}.</p>
      )}
    </div>
  );
}

function RunBar({ batchCount }: { batchCount: number }) {
  const progress = useStore(runStore, (s) => s.progress);
  const executing = useStore(runStore, (s) => s.executing);
  const remaining = useStore(runStore, (s) => s.queueRemaining);
  const title = useStore(graphStore, (s) => {
    const n = s.nodes.find((x) => x.id === executing?.split(':')[0]);
    return n && isLgNode(n) ? nodeLabel(n.data.node) : executing;
  });
  const status = executing ? `Running ${title}` : remaining > 0 ? `${remaining} in queue` : 'Idle';
  return (
    <div className="lg-app-run">
      <button className="lg-primary" aria-label="Queue from app view" onClick={() => void queueGraph(batchCount)}>
        Queue
      </button>
      <span className="lg-app-status" role="status">
        {status}
        {progress ? ` — ${progress.value}/${progress.max}` : ''}
      </span>
      {progress && (
        <div
          className="lg-progress"
          role="progressbar"
          aria-label="run progress"
          aria-valuenow={progress.value}
          aria-valuemax={progress.max}
        >
          <div style={{ width: `${(100 * progress.value) / Math.max(1, progress.max)}%` }} />
        </div>
      )}
    </div>
  );
}

/** Where an output stands among those shown (for its move buttons). */
interface Place {
  index: number;
  count: number;
}

/** One output under its title; `first` is the place of its first image among all shown (the viewer's list). */
function OutputBlock({ output, gallery, first, place }: { output: AppOutput; gallery: AppOutput['images']; first: number; place: Place }) {
  return (
    <figure className="lg-app-output" role="group" aria-label={output.title} data-output={output.nodeId}>
      <figcaption className="lg-app-output-head">
        <span className="lg-app-output-title">{output.title}</span>
        {output.chosen && (
          <span className="lg-app-field-tools">
            <button
              aria-label={`move output ${output.title} up`}
              title="Move up"
              disabled={place.index === 0}
              onClick={() => moveAppOutput(output.nodeId, -1)}
            >
              ↑
            </button>
            <button
              aria-label={`move output ${output.title} down`}
              title="Move down"
              disabled={place.index === place.count - 1}
              onClick={() => moveAppOutput(output.nodeId, 1)}
            >
              ↓
            </button>
            <button
              aria-label={`remove output ${output.title}`}
              title="Remove from the app view"
              onClick={() => removeAppOutput(output.nodeId)}
            >
              ×
            </button>
          </span>
        )}
      </figcaption>
      {output.missing && <p className="lg-app-field-problem">This node is not in the workflow any more.</p>}
      {!output.missing && output.images.length === 0 && <p className="lg-empty">No image yet.</p>}
      <div className="lg-app-output-images">
        {output.images.map((img, i) => (
          <img
            key={`${img.filename}-${i}`}
            className="lg-app-image"
            src={viewUrl(img)}
            alt={img.filename}
            {...imageHandlers(gallery, first + i)}
          />
        ))}
      </div>
    </figure>
  );
}

function Outputs() {
  const outputs = useStore(runStore, (s) => s.outputs);
  const queuedFrom = useStore(runStore, (s) => s.queuedFrom);
  const tabId = useStore(tabStore, (s) => s.activeId);
  const extra = useStore(graphStore, (s) => s.meta.extra);
  const nodes = useGraphNodes();
  const ours = outputsQueuedFrom(outputs, tabId, runStore.promptOfOutput, queuedFrom);
  const shown = appOutputs(ours, nodes, appOutputNodeIds(extra));
  const gallery = shown.flatMap((o) => o.images);
  const firsts = shown.map((_, i) => shown.slice(0, i).reduce((n, o) => n + o.images.length, 0));
  return (
    <section className="lg-app-outputs" aria-label="App outputs">
      {shown.length === 0 && <p className="lg-empty">The images of the latest run show here.</p>}
      {shown.map((o, i) => (
        <OutputBlock key={o.nodeId} output={o} gallery={gallery} first={firsts[i]} place={{ index: i, count: shown.length }} />
      ))}
    </section>
  );
}

export function AppView({ batchCount }: { batchCount: number }) {
  const extra = useStore(graphStore, (s) => s.meta.extra);
  const defs = useStore(graphStore, (s) => s.defs);
  const nodes = useGraphNodes();
  const fields = formFields(appFields(extra), nodes, defs);
  return (
    <div className="lg-app-view" role="region" aria-label="App view">
      <section className="lg-app-form" aria-label="App fields">
        {fields.length === 0 && (
          <p className="lg-empty">
            No fields yet. In the graph, right-click a widget (or a node: “Add widget to app view”) to show it here.
          </p>
        )}
        {fields.map((f) => (
          <FieldRow key={`${f.nodeId}:${f.widget}`} field={f} count={fields.length} />
        ))}
        <RunBar batchCount={batchCount} />
      </section>
      <Outputs />
    </div>
  );
}
