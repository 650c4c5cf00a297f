/**
 * The node menu's layout entries, as in ComfyUI: Title, Collapse, Pin, the "Colors" palette and,
 * for a multi-selection, "Align Selected To" and "Distribute Nodes". Each acts on the selection.
 */
import { type AlignSide, type DistributeAxis, NODE_COLORS, type NodeColorName, nodeEdits, titleEditor } from '../store/nodeEdits';
import type { EditorNode } from '../workflow/types';

const ALIGN_SIDES: AlignSide[] = ['top', 'bottom', 'left', 'right'];
const AXES: DistributeAxis[] = ['horizontal', 'vertical'];
const capital = (s: string) => s[0].toUpperCase() + s.slice(1).replace('_', ' ');

function Submenu({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <li role="menuitem" aria-haspopup="menu" className="lg-submenu">
      {label} <span aria-hidden>▸</span>
      <ul className="lg-menu lg-submenu-list" role="menu" aria-label={label}>
        {children}
      </ul>
    </li>
  );
}

export function NodeHandlingMenu({
  node,
  selectedCount,
  act,
}: {
  node: EditorNode;
  /** How many nodes the entries act on. */
  selectedCount: number;
  /** Wraps an action: selects the right-clicked node if need be, runs it, closes the menu. */
  act: (fn: () => void) => () => void;
}) {
  const collapsed = Boolean(node.flags?.collapsed);
  const pinned = Boolean(node.flags?.pinned);
  return (
    <>
      <li role="menuitem" onClick={act(() => titleEditor.set({ nodeId: node.id }))}>
        Title
      </li>
      <li role="menuitem" onClick={act(() => nodeEdits.toggleCollapsed())}>
        {collapsed ? 'Expand' : 'Collapse'} <kbd>Alt+C</kbd>
      </li>
      <li role="menuitem" onClick={act(() => nodeEdits.togglePinned())}>
        {pinned ? 'Unpin' : 'Pin'}
      </li>
      <Submenu label="Colors">
        <li role="menuitem" onClick={act(() => nodeEdits.setColor(null))}>
          No color
        </li>
        {(Object.keys(NODE_COLORS) as NodeColorName[]).map((name) => (
          <li key={name} role="menuitem" data-color={name} onClick={act(() => nodeEdits.setColor(name))}>
            {name}
            <span className="lg-swatch" style={{ background: NODE_COLORS[name].bgcolor, borderColor: NODE_COLORS[name].color }} />
          </li>
        ))}
      </Submenu>
      {selectedCount > 1 && (
        <Submenu label="Align Selected To">
          {ALIGN_SIDES.map((side) => (
            <li key={side} role="menuitem" onClick={act(() => nodeEdits.align(side))}>
              {capital(side)}
            </li>
          ))}
        </Submenu>
      )}
      {selectedCount > 2 && (
        <Submenu label="Distribute Nodes">
          {AXES.map((axis) => (
            <li key={axis} role="menuitem" onClick={act(() => nodeEdits.distribute(axis))}>
              {capital(axis)}
            </li>
          ))}
        </Submenu>
      )}
    </>
  );
}
