/** The React Flow canvas: nodes, links, minimap, search on double-click and on link drop. */
import {
  Background,
  type Connection,
  Controls,
  type FinalConnectionState,
  MiniMap,
  type OnConnectStartParams,
  ReactFlow,
  useReactFlow,
} from '@xyflow/react';
import { type DragEvent, type MouseEvent as ReactMouseEvent, useCallback, useRef, useState } from 'react';
import { graphStore, type PendingLink } from '../store/graphStore';
import { type FlowEdge, type FlowNode, handleKey, isLgNode } from '../store/flowModel';
import { runStore } from '../store/runStore';
import { useStore } from '../store/store';
import { nodeSockets } from '../workflow/nodeDefs';
import { openFile } from './files';
import { dropImageOnNode } from './imagePasteActions';
import { GroupView } from './GroupView';
import { NodeMenu, type MenuRequest } from './NodeMenu';
import { NodeView } from './NodeView';
import { SearchDialog, type SearchRequest } from './SearchDialog';
import { pointer } from './pointer';
import { useCanvasSettings } from '../settings/canvasSettings';
import { LowQualityZoom } from './lowQualityRendering';

const nodeTypes = { lg: NodeView, group: GroupView };

type Search = SearchRequest & { from?: PendingLink };

/** Drops a link picked up from its input at screen point (x, y): onto another input, or off the canvas. */
function moveLink(edge: FlowEdge, x: number, y: number): void {
  // The drop counts on an input's socket or on its row (its name), as in ComfyUI.
  const hit = document.elementFromPoint(x, y);
  const handle = (hit?.closest('.react-flow__handle.target') ??
    hit?.closest('.lg-socket-row')?.querySelector('.react-flow__handle.target')) as HTMLElement | null;
  const nodeId = handle?.closest('.react-flow__node')?.getAttribute('data-id');
  const handleId = handle?.getAttribute('data-handleid');
  if (nodeId && handleId) {
    if (nodeId === edge.target && handleId === edge.targetHandle) return;
    const moved = graphStore.reconnect(edge, {
      source: edge.source,
      sourceHandle: edge.sourceHandle ?? null,
      target: nodeId,
      targetHandle: handleId,
    });
    if (!moved) runStore.notify('That input does not take this link’s type', 'error');
    return;
  }
  graphStore.removeEdge(edge.id);
}

export function Canvas() {
  const nodes = useStore(graphStore, (s) => s.nodes);
  const edges = useStore(graphStore, (s) => s.edges);
  const rf = useReactFlow();
  const [search, setSearch] = useState<Search | null>(null);
  const [menu, setMenu] = useState<MenuRequest | null>(null);
  const settingProps = useCanvasSettings(); // link style, snap to grid, colour mode
  const root = useRef<HTMLDivElement>(null); // carries lg-low-quality when zoomed far out

  const openSearch = (clientX: number, clientY: number, from?: PendingLink) => {
    const flow = rf.screenToFlowPosition({ x: clientX, y: clientY });
    setSearch({
      screen: { x: clientX, y: clientY },
      flow,
      from,
      filter: from ? { side: from.handleType === 'source' ? 'input' : 'output', type: from.type } : undefined,
    });
  };

  const onDoubleClick = (e: ReactMouseEvent) => {
    if ((e.target as Element).classList?.contains('react-flow__pane')) openSearch(e.clientX, e.clientY);
  };

  // Dragging a link's end: dropped on a socket it moves there, dropped elsewhere it is removed.
  const reconnected = useRef(false);
  const reconnecting = useRef(false);
  const onReconnectStart = () => {
    reconnected.current = false;
    reconnecting.current = true;
  };
  const onReconnect = (old: FlowEdge, connection: Connection) => {
    reconnected.current = graphStore.reconnect(old, connection);
  };
  const onReconnectEnd = (_e: MouseEvent | TouchEvent, edge: FlowEdge) => {
    if (!reconnected.current) graphStore.removeEdge(edge.id);
    setTimeout(() => {
      reconnecting.current = false;
    }, 0);
  };

  // Dragging from an input that has a link picks that link up (as in ComfyUI): dropped on another
  // input it moves there, dropped on empty canvas it is removed, dropped back on its input nothing changes.
  const moving = useRef<FlowEdge | null>(null);
  const onConnectStart = (_e: unknown, p: OnConnectStartParams) => {
    moving.current =
      p.handleType === 'target'
        ? (graphStore.get().edges.find((e) => e.target === p.nodeId && e.targetHandle === p.handleId) ?? null)
        : null;
  };

  const onConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      const point = 'changedTouches' in event ? event.changedTouches[0] : event;
      const picked = moving.current;
      moving.current = null;
      if (picked && !reconnecting.current) {
        if (!state.isValid) moveLink(picked, point.clientX, point.clientY);
        return;
      }
      if (reconnecting.current || state.isValid || !state.fromHandle || !state.fromNode) return;
      const target = event.target as Element | null;
      if (!target?.classList?.contains('react-flow__pane')) return;
      const fromNode = state.fromNode as unknown as FlowNode;
      if (!isLgNode(fromNode)) return;
      const sockets = nodeSockets(fromNode.data.node, graphStore.get().defs);
      const handleId = state.fromHandle.id ?? '';
      const socket =
        state.fromHandle.type === 'source'
          ? sockets.outputs[Number(handleKey(handleId))]
          : sockets.inputs.find((s) => s.key === handleKey(handleId));
      if (!socket) return;
      openSearch(point.clientX, point.clientY, { nodeId: fromNode.id, handleId, handleType: state.fromHandle.type, type: socket.type });
    },
    [rf],
  );

  const onDrop = (e: DragEvent) => {
    const file = e.dataTransfer.files?.[0];
    if (!file) return;
    e.preventDefault();
    // An image dropped on a LoadImage-like node becomes its image; anything else opens as a workflow file.
    const onNode = (e.target as Element | null)?.closest?.('.react-flow__node')?.getAttribute('data-id') ?? null;
    if (!dropImageOnNode(file, onNode)) void openFile(file);
  };

  return (
    <div
      ref={root}
      className="lg-canvas"
      onDoubleClick={onDoubleClick}
      onDragOver={(e) => e.preventDefault()}
      onDrop={onDrop}
      onMouseMove={(e) => {
        pointer.screen = { x: e.clientX, y: e.clientY };
      }}
    >
      <ReactFlow<FlowNode, FlowEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={graphStore.onNodesChange}
        onEdgesChange={graphStore.onEdgesChange}
        onConnect={graphStore.connect}
        onConnectStart={onConnectStart}
        onConnectEnd={onConnectEnd}
        onReconnectStart={onReconnectStart}
        onReconnect={onReconnect}
        onReconnectEnd={onReconnectEnd}
        onNodeContextMenu={(e, n) => {
          e.preventDefault();
          if (n.type === 'lg') setMenu({ x: e.clientX, y: e.clientY, nodeId: n.id });
        }}
        onSelectionContextMenu={(e, selection) => {
          e.preventDefault();
          const first = selection.find(isLgNode);
          if (first) setMenu({ x: e.clientX, y: e.clientY, nodeId: first.id });
        }}
        onPaneContextMenu={(e) => {
          e.preventDefault();
          openSearch(e.clientX, e.clientY);
        }}
        isValidConnection={graphStore.isValidConnection}
        deleteKeyCode={null}
        selectionKeyCode={['Shift', 'Control']}
        multiSelectionKeyCode={['Shift', 'Control', 'Meta']}
        zoomOnDoubleClick={false}
        minZoom={0.05}
        maxZoom={4}
        elevateNodesOnSelect={false}
        proOptions={{ hideAttribution: true }}
        {...settingProps}
      >
        <LowQualityZoom root={root} />
        <Background gap={20} />
        <Controls />
        <MiniMap pannable zoomable nodeColor={(n) => (n.type === 'group' ? '#3f789e55' : '#556')} />
      </ReactFlow>
      {menu && <NodeMenu request={menu} onClose={() => setMenu(null)} />}
      {search && (
        <SearchDialog
          request={search}
          onClose={() => setSearch(null)}
          onPick={(type) => {
            graphStore.addNode(type, search.flow, search.from);
            setSearch(null);
          }}
        />
      )}
    </div>
  );
}
