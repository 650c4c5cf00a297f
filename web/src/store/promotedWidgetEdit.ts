/**
 * Editing a promoted widget on a subgraph instance (one undo step; consecutive edits of the same
 * widget coalesce, as typing in any widget does). The value is what queuing sends to the inner node.
 */
import { instanceDefinition, withPromotedValue } from '../workflow/subgraphWidgets';
import { isLgNode } from './flowModel';
import { type GraphStore, graphStore } from './graphStore';

/** Sets the value of promoted subgraph input `index` on instance `instanceId`. */
export function setPromotedWidget(instanceId: string, index: number, value: unknown, store: GraphStore = graphStore): void {
  const s = store.get();
  const flow = s.nodes.find((n) => n.id === instanceId);
  if (!flow || !isLgNode(flow)) return;
  const found = instanceDefinition(flow.data.node, { passthrough: s.meta.passthrough }, s.defs);
  if (!found) return;
  const node = withPromotedValue(flow.data.node, found.def, found.inner, s.defs, index, value);
  if (node === flow.data.node) return;
  const nodes = s.nodes.map((n) => (n.id === instanceId && isLgNode(n) ? { ...n, data: { node } } : n));
  store.commit({ nodes }, `p:${instanceId}:${index}`);
}
