/**
 * Which widget a right-click landed on: the node menu offers "Add <widget> to app view" for it.
 * A capturing listener notes the `data-widget` row under the pointer before React Flow opens the menu.
 */
let lastWidget: { nodeId: string; widget: string } | null = null;

function onContextMenu(e: MouseEvent): void {
  const target = e.target instanceof Element ? e.target : null;
  const row = target?.closest('[data-widget]');
  const nodeId = row?.closest('.react-flow__node')?.getAttribute('data-id');
  const widget = row?.getAttribute('data-widget');
  lastWidget = nodeId && widget ? { nodeId, widget } : null;
}

if (typeof window !== 'undefined') window.addEventListener('contextmenu', onContextMenu, true);

/** The widget of node `nodeId` that the latest right-click was on, if any. */
export function rightClickedWidget(nodeId: string): string | null {
  return lastWidget && lastWidget.nodeId === nodeId ? lastWidget.widget : null;
}
