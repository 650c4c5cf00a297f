/**
 * Where the canvas is in the subgraph tree: the root workflow, or the inside of an instance
 * (and instances inside that). Entering parks the outer graph (with its undo history) and shows
 * the definition's graph; leaving writes the edited graph back into the definition (every
 * instance follows) and puts the outer graph back with one undo step for the whole visit.
 * Running and saving use `rootGraph()`, the workflow as it would be after leaving every level.
 */
import { type EditorGraph } from '../workflow/types';
import { graphOfInstance, promoteWidget, writeBackDefinition } from '../workflow/subgraphEdit';
import { convertToSubgraph, unpackSubgraph } from '../workflow/subgraphCreate';
import { demotePromotedWidget } from '../workflow/subgraphDemote';
import { subgraphDefinitions } from '../workflow/subgraphFlatten';
import { flowToGraph, type GroupNode, graphToFlow, isLgNode } from './flowModel';
import { type GraphSession, graphStore } from './graphStore';
import { UndoHistory } from './history';
import { Store } from './store';

export interface SubgraphFrame {
  /** The instance entered (in the graph one level up) and its definition. */
  instanceId: string;
  definitionId: string;
  name: string;
  /** The graph one level up, as it was when the instance was entered. */
  parent: GraphSession;
}

export const subgraphNav = new Store<{ frames: SubgraphFrame[] }>({ frames: [] });

function sessionGraph(s: GraphSession): EditorGraph {
  return flowToGraph(s.nodes, s.edges, s.meta);
}

/** True when `type` is a subgraph id of the graph on the canvas (or one of its boundary nodes). */
export function isSubgraphType(type: string): boolean {
  if (type === 'SubgraphInputNode' || type === 'SubgraphOutputNode') return true;
  return subgraphDefinitions({ passthrough: graphStore.get().meta.passthrough }).has(type);
}

/** Shows the inside of instance `instanceId` of the graph on the canvas. */
export function enterSubgraph(instanceId: string): void {
  const outer = graphStore.graph();
  const { inner, definitionId, name } = graphOfInstance(outer, instanceId, graphStore.get().defs);
  const parent = graphStore.saveSession();
  subgraphNav.set({ frames: [...subgraphNav.get().frames, { instanceId, definitionId, name, parent }] });
  graphStore.restoreSession({ ...graphToFlow(inner), history: new UndoHistory(), revision: parent.revision });
}

/** Goes up to level `depth` (0 = the root workflow), writing each level's edits back. */
export function leaveSubgraph(depth = subgraphNav.get().frames.length - 1): void {
  const frames = subgraphNav.get().frames;
  while (frames.length > Math.max(0, depth)) {
    const frame = frames.pop()!;
    const inner = graphStore.get();
    const changed = inner.revision !== frame.parent.revision;
    const before = sessionGraph(frame.parent);
    const after = changed ? writeBackDefinition(before, frame.definitionId, graphStore.graph(), inner.defs) : before;
    const history = frame.parent.history;
    if (changed) history.record({ nodes: frame.parent.nodes, edges: frame.parent.edges, meta: frame.parent.meta });
    const flow = graphToFlow(after);
    // Keep React Flow's measurements and selection of the nodes that were there.
    const old = new Map(frame.parent.nodes.map((n) => [n.id, n]));
    const nodes = flow.nodes.map((n) => {
      const o = old.get(n.id);
      return o && isLgNode(o) && isLgNode(n) ? { ...o, data: n.data } : n;
    });
    graphStore.restoreSession({ ...flow, nodes, history, revision: inner.revision });
  }
  subgraphNav.set({ frames: [...frames] });
}

/** Forgets the subgraph levels without writing back (a new workflow was loaded). */
export function resetSubgraphNav(): void {
  if (subgraphNav.get().frames.length) subgraphNav.set({ frames: [] });
}

/** The whole workflow with the edits of every open level written back, the canvas left as it is. */
export function rootGraph(): EditorGraph {
  let graph = graphStore.graph();
  const { defs, revision } = graphStore.get();
  const frames = subgraphNav.get().frames;
  for (let i = frames.length - 1; i >= 0; i--) {
    const parent = sessionGraph(frames[i].parent);
    graph = revision !== frames[i].parent.revision ? writeBackDefinition(parent, frames[i].definitionId, graph, defs) : parent;
  }
  return graph;
}

function selectedIds(): string[] {
  return graphStore
    .get()
    .nodes.filter((n) => isLgNode(n) && n.selected)
    .map((n) => n.id);
}

function selectedGroupIds(): number[] {
  return graphStore
    .get()
    .nodes.filter((n): n is GroupNode => n.type === 'group' && Boolean(n.selected))
    .map((n) => n.data.group.id);
}

/** Converts the selected nodes (and the groups that go with them) into a new subgraph (one undo step). */
export function convertSelection(): boolean {
  const ids = selectedIds();
  const groupIds = selectedGroupIds();
  if (ids.length === 0 && groupIds.length === 0) return false;
  const { graph, instanceId } = convertToSubgraph(graphStore.graph(), ids, graphStore.get().defs, undefined, groupIds);
  graphStore.load(graph);
  graphStore.set({ nodes: graphStore.get().nodes.map((n) => ({ ...n, selected: n.id === instanceId })) });
  return true;
}

/** Puts the nodes of instance `id` back in its place (one undo step). */
export function unpackInstance(id: string): void {
  graphStore.load(unpackSubgraph(graphStore.graph(), id, graphStore.get().defs));
}

/** Un-promotes definition input `index` of instance `id`, on every instance (one undo step). */
export function demoteInstanceWidget(id: string, index: number): void {
  graphStore.load(demotePromotedWidget(graphStore.graph(), id, index, graphStore.get().defs));
}

/** Inside a subgraph: makes widget `widget` of node `nodeId` an input of the subgraph. */
export function promoteInnerWidget(nodeId: string, widget: string): void {
  graphStore.load(promoteWidget(graphStore.graph(), nodeId, widget, graphStore.get().defs));
}
