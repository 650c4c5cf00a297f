/**
 * One workflow node on the canvas: title, sockets coloured by type, widgets, run state, outputs;
 * a resize corner, collapsed to its title, pinned, or a small dot for a Reroute.
 */
import { Handle, NodeResizeControl, type NodeProps, Position, useUpdateNodeInternals } from '@xyflow/react';
import { memo, useEffect, useMemo, useRef } from 'react';
import { graphStore } from '../store/graphStore';
import { errorsOnNode, runIdOnNode } from '../store/nodeOutputIds';
import { isSubgraphType, subgraphNav } from '../store/subgraphNav';
import { inputHandle, isCollapsed, isPinned, isReroute, type LgNode, outputHandle } from '../store/flowModel';
import { runStore } from '../store/runStore';
import { useStore } from '../store/store';
import { typeColor } from '../store/typeColors';
import { nodeSockets, VIRTUAL_TYPES } from '../workflow/nodeDefs';
import { MODE_BYPASS, MODE_NEVER } from '../workflow/types';
import { NodeOutputs } from './NodeOutputs';
import { NodeTitle } from './NodeTitle';
import { RawNodeBody } from './RawNodeBody';
import { UploadWidget } from './UploadWidget';
import { ControlWidget, Widget } from './widgets';

/** Least size a resized node keeps, so that its widgets stay usable. */
const MIN_WIDTH = 160;
const MIN_HEIGHT = 60;

/** A Reroute: a small dot with one input and one output, dragged by its middle. */
function RerouteDot({ data, selected }: NodeProps<LgNode>) {
  const { inputs } = nodeSockets(data.node, {});
  return (
    <div className={`lg-reroute${selected ? ' selected' : ''}`} data-node-type="Reroute" title={data.node.title}>
      <Handle type="target" position={Position.Left} id={inputHandle(inputs[0]?.key ?? '#0')} />
      <Handle type="source" position={Position.Right} id={outputHandle(0)} />
    </div>
  );
}

function NodeViewImpl(props: NodeProps<LgNode>) {
  if (isReroute(props.data.node)) return <RerouteDot {...props} />;
  return <WorkflowNodeView {...props} />;
}

function WorkflowNodeView({ id, data, selected }: NodeProps<LgNode>) {
  const node = data.node;
  const collapsed = isCollapsed(node);
  const pinned = isPinned(node);
  const updateInternals = useUpdateNodeInternals();
  // Collapsing moves every socket onto the title bar: React Flow must measure them again (not on
  // mount: React Flow measures new nodes itself, and one call per node makes large graphs slow).
  const wasCollapsed = useRef(collapsed);
  useEffect(() => {
    if (wasCollapsed.current === collapsed) return;
    wasCollapsed.current = collapsed;
    updateInternals(id);
  }, [collapsed, id, updateInternals]);
  const def = useStore(graphStore, (s) => s.defs[node.type]);
  const defs = useStore(graphStore, (s) => s.defs);
  // Run state arrives under the prompt's ids ("10:9" inside instance 10): shown on the instance, or inside it.
  const frames = useStore(subgraphNav, (s) => s.frames);
  const path = useMemo(() => frames.map((f) => f.instanceId), [frames]);
  const executing = useStore(runStore, (s) => runIdOnNode(s.executing, path, id));
  const progress = useStore(runStore, (s) => (s.progress && runIdOnNode(s.progress.node ?? s.executing, path, id) ? s.progress : null));
  const errors = useStore(runStore, (s) => errorsOnNode(s.nodeErrors, path, id));
  const execError = useStore(runStore, (s) => (runIdOnNode(s.executionError?.nodeId, path, id) ? s.executionError!.message : null));
  const planState = useStore(runStore, (s) =>
    s.plan ? (s.plan.cached.includes(id) ? 'cached' : s.plan.run.includes(id) ? 'run' : null) : null,
  );
  const runState = useStore(runStore, (s) => s.nodeStates[id]);
  const { inputs, outputs } = nodeSockets(node, defs);
  const missing = !def && !VIRTUAL_TYPES.has(node.type) && !isSubgraphType(node.type);
  const errorInputs = new Set((errors?.errors ?? []).map((e) => e.extra_info?.input_name).filter(Boolean));
  const classes = [
    'lg-node',
    selected && 'selected',
    executing && 'executing',
    (errors || execError) && 'has-error',
    missing && 'missing',
    node.mode === MODE_BYPASS && 'bypassed',
    node.mode === MODE_NEVER && 'muted',
    runState && `state-${runState}`,
    collapsed && 'collapsed',
    pinned && 'pinned nopan', // a pinned node neither moves nor pans the canvas when dragged
  ]
    .filter(Boolean)
    .join(' ');

  const badges = (
    <>
      {pinned && (
        <span className="lg-badge lg-badge-pin" title="Pinned: cannot be moved or resized">
          pinned
        </span>
      )}
      {missing && (
        <span className="lg-badge lg-badge-missing" title="This node type is not installed on the server">
          missing
        </span>
      )}
      {node.mode === MODE_BYPASS && <span className="lg-badge">bypass</span>}
      {node.mode === MODE_NEVER && <span className="lg-badge">muted</span>}
      {planState && <span className={`lg-badge lg-plan-${planState}`}>{planState === 'run' ? 'will run' : 'from cache'}</span>}
      {runState === 'cached' && !planState && <span className="lg-badge lg-plan-cached">cached</span>}
    </>
  );

  if (collapsed) {
    // Only the title shows; the sockets sit on its edges so links still reach the node.
    return (
      <div className={classes} data-node-type={node.type} style={node.bgcolor ? { background: node.bgcolor } : undefined}>
        <NodeTitle node={node} collapsed tooltip={def?.description || node.type}>
          {badges}
        </NodeTitle>
        {inputs.map((s) => (
          <Handle key={s.key} type="target" position={Position.Left} id={inputHandle(s.key)} style={{ background: typeColor(s.type) }} />
        ))}
        {outputs.map((s, i) => (
          <Handle key={s.key} type="source" position={Position.Right} id={outputHandle(i)} style={{ background: typeColor(s.type) }} />
        ))}
      </div>
    );
  }

  return (
    <div className={classes} data-node-type={node.type} style={node.bgcolor ? { background: node.bgcolor } : undefined}>
      {!pinned && (
        <NodeResizeControl
          className="lg-resize-corner"
          position="bottom-right"
          minWidth={MIN_WIDTH}
          minHeight={MIN_HEIGHT}
          onResizeStart={() => graphStore.recordStep()}
        />
      )}
      <NodeTitle node={node} collapsed={false} tooltip={def?.description || node.type}>
        {badges}
      </NodeTitle>
      {progress && (
        <div className="lg-progress" role="progressbar" aria-valuenow={progress.value} aria-valuemax={progress.max}>
          <div style={{ width: `${(100 * progress.value) / Math.max(1, progress.max)}%` }} />
        </div>
      )}
      <div className="lg-io">
        <div className="lg-inputs">
          {inputs.map((s) => (
            <div
              key={s.key}
              className={`lg-socket-row${errorInputs.has(s.widget ?? s.name) ? ' has-error' : ''}`}
              data-input={s.widget ?? s.name}
            >
              <Handle
                type="target"
                position={Position.Left}
                id={inputHandle(s.key)}
                style={{ background: typeColor(s.type) }}
                title={s.type}
              />
              <span className={s.optional ? 'lg-optional' : ''}>{s.name || s.type}</span>
              {/* Kept-raw nodes (subgraph instances' promoted inputs, primitives) have nothing to convert back. */}
              {s.widget && !node.raw && (
                <button
                  className="lg-mini nodrag"
                  title="Convert back to a widget"
                  onClick={() => graphStore.convertWidget(id, s.widget!, false)}
                >
                  ⇄
                </button>
              )}
            </div>
          ))}
        </div>
        <div className="lg-outputs">
          {outputs.map((s, i) => (
            <div key={s.key} className="lg-socket-row out" data-output={i}>
              <span>{s.name || s.type}</span>
              <Handle
                type="source"
                position={Position.Right}
                id={outputHandle(i)}
                style={{ background: typeColor(s.type) }}
                title={s.type}
              />
            </div>
          ))}
        </div>
      </div>
      {def && !node.raw && (
        <div className="lg-widgets">
          {def.inputs
            .filter((i) => i.isWidget && !node.converted.includes(i.name))
            .map((input) => (
              <div
                key={input.name}
                className={`lg-widget-row${errorInputs.has(input.name) ? ' has-error' : ''}`}
                data-widget={input.name}
                title={typeof input.options.tooltip === 'string' ? input.options.tooltip : undefined}
              >
                <button
                  className="lg-mini nodrag"
                  title="Convert to an input socket"
                  onClick={() => graphStore.convertWidget(id, input.name, true)}
                >
                  ⇄
                </button>
                <div className="lg-widget-body">
                  <Widget input={input} value={node.widgets[input.name]} onChange={(v) => graphStore.setWidget(id, input.name, v)} />
                  {input.control && (
                    <ControlWidget
                      value={node.controls[input.name] ?? 'fixed'}
                      onChange={(v) => graphStore.setControl(id, input.name, v)}
                    />
                  )}
                  {input.upload && <UploadWidget nodeId={id} input={input} value={node.widgets[input.name]} />}
                </div>
              </div>
            ))}
        </div>
      )}
      {node.raw && <RawNodeBody node={node} missing={missing} />}
      {(errors || execError) && (
        <ul className="lg-errors">
          {errors?.errors.map((e, i) => (
            <li key={i}>
              {e.extra_info?.input_name ? <b>{e.extra_info.input_name}: </b> : null}
              {e.message}
              {e.details ? ` — ${e.details}` : ''}
            </li>
          ))}
          {execError && <li>{execError}</li>}
        </ul>
      )}
      <NodeOutputs nodeId={id} />
    </div>
  );
}

export const NodeView = memo(NodeViewImpl);
