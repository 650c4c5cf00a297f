/**
 * The promoted widgets of a subgraph instance, drawn with the inner widget's control (number,
 * combo, text, toggle; LoadImage's image with its upload button). An input linked on the instance
 * shows no widget: its link wins.
 */
import { useMemo } from 'react';
import { handleKey } from '../store/flowModel';
import { graphStore } from '../store/graphStore';
import { setPromotedWidget } from '../store/promotedWidgetEdit';
import { useStore } from '../store/store';
import { instanceDefinition, promotedWidgets } from '../workflow/subgraphWidgets';
import type { EditorNode } from '../workflow/types';
import { PromotedUpload } from './PromotedUpload';
import { Widget } from './widgets';

export function PromotedWidgets({ node }: { node: EditorNode }) {
  const passthrough = useStore(graphStore, (s) => s.meta.passthrough);
  const defs = useStore(graphStore, (s) => s.defs);
  const linkedKey = useStore(graphStore, (s) =>
    s.edges
      .filter((e) => e.target === node.id)
      .map((e) => handleKey(e.targetHandle))
      .join('\n'),
  );
  const widgets = useMemo(() => {
    const found = instanceDefinition(node, { passthrough }, defs);
    return found ? promotedWidgets(node, found.def, found.inner, defs, new Set(linkedKey.split('\n'))) : [];
  }, [node, passthrough, defs, linkedKey]);
  const shown = widgets.filter((w) => !w.linked);
  if (shown.length === 0) return null;
  return (
    <div className="lg-widgets lg-promoted-widgets">
      {shown.map((w) => (
        <div key={w.index} className="lg-widget-row" data-widget={w.name} title={`Promoted from the subgraph: ${w.input.name}`}>
          <div className="lg-widget-body">
            <Widget input={{ ...w.input, name: w.name }} value={w.value} onChange={(v) => setPromotedWidget(node.id, w.index, v)} />
            {w.input.upload && <PromotedUpload instanceId={node.id} index={w.index} value={w.value} />}
          </div>
        </div>
      ))}
    </div>
  );
}
