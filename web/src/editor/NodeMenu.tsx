/** Right-click menu of a node: title, collapse, pin, colours, align, bypass, mute, widget ⇄ input, app view, copy, delete. */
import { useEffect } from 'react';
import { AppMenuEntries } from '../appview/AppMenuEntries';
import { graphStore } from '../store/graphStore';
import { isLgNode } from '../store/flowModel';
import { MODE_BYPASS, MODE_NEVER } from '../workflow/types';
import { shortcutLabel } from './keyboard';
import { NodeHandlingMenu } from './NodeHandlingMenu';
import { SubgraphMenuEntries } from './SubgraphMenuEntries';

export interface MenuRequest {
  x: number;
  y: number;
  nodeId: string;
}

/** Makes the right-clicked node part of the selection (alone, unless it was already selected). */
function selectFor(nodeId: string): void {
  const nodes = graphStore.get().nodes;
  if (nodes.find((n) => n.id === nodeId)?.selected) return;
  graphStore.set({ nodes: nodes.map((n) => ({ ...n, selected: n.id === nodeId })) });
}

export function NodeMenu({ request, onClose }: { request: MenuRequest; onClose: () => void }) {
  useEffect(() => {
    // Escape closes the menu (and goes no further: it must not also clear the selection, say).
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      e.stopPropagation();
      onClose();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [onClose]);
  const flowNode = graphStore.get().nodes.find((n) => n.id === request.nodeId);
  if (!flowNode || !isLgNode(flowNode)) return null;
  const node = flowNode.data.node;
  const def = node.raw ? undefined : graphStore.get().defs[node.type];
  const act = (fn: () => void) => () => {
    fn();
    onClose();
  };
  const selectedCount = flowNode.selected ? graphStore.get().nodes.filter((n) => isLgNode(n) && n.selected).length : 1;
  const onSelection = (fn: () => void) =>
    act(() => {
      selectFor(node.id);
      fn();
    });
  return (
    <div
      className="lg-menu-backdrop"
      onMouseDown={onClose}
      onContextMenu={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <ul
        className="lg-menu"
        role="menu"
        aria-label={`${node.title} menu`}
        style={{ left: request.x, top: request.y }}
        onMouseDown={(e) => e.stopPropagation()}
      >
        <NodeHandlingMenu node={node} selectedCount={selectedCount} act={onSelection} />
        <li role="menuitem" onClick={onSelection(() => graphStore.toggleMode(MODE_BYPASS))}>
          {node.mode === MODE_BYPASS ? 'Remove bypass' : 'Bypass'} <ShortcutKey command="Comfy.Canvas.ToggleSelectedNodes.Bypass" />
        </li>
        <li role="menuitem" onClick={onSelection(() => graphStore.toggleMode(MODE_NEVER))}>
          {node.mode === MODE_NEVER ? 'Unmute' : 'Mute'} <ShortcutKey command="Comfy.Canvas.ToggleSelectedNodes.Mute" />
        </li>
        {def?.inputs
          .filter((i) => i.isWidget)
          .map((i) => {
            const converted = node.converted.includes(i.name);
            return (
              <li key={i.name} role="menuitem" onClick={act(() => graphStore.convertWidget(node.id, i.name, !converted))}>
                {converted ? `Convert ${i.name} to widget` : `Convert ${i.name} to input`}
              </li>
            );
          })}
        <AppMenuEntries node={node} act={act} />
        <li role="menuitem" onClick={onSelection(() => graphStore.copySelected())}>
          Copy <ShortcutKey command="Comfy.Canvas.CopySelected" />
        </li>
        <li role="menuitem" onClick={onSelection(() => graphStore.groupSelected())}>
          Group <ShortcutKey command="Comfy.Graph.GroupSelectedNodes" />
        </li>
        <SubgraphMenuEntries node={node} wrap={onSelection} />
        <li role="menuitem" className="danger" onClick={onSelection(() => graphStore.deleteSelected())}>
          Delete <kbd>Del</kbd>
        </li>
      </ul>
    </div>
  );
}

/** The key a command has now (the user may have rebound or unbound it): nothing when it has none. */
function ShortcutKey({ command }: { command: string }) {
  const label = shortcutLabel(command);
  return label ? <kbd>{label}</kbd> : null;
}
