/**
 * The node menu's app view entries: "Add <widget> to app view" for the widget right-clicked,
 * "Add widget to app view ▸" listing the node's widgets (a ✓ marks those in it; choosing one again
 * takes it out), and for an output node "Show in app view" / "Hide from app view" (its images).
 * Shown on the workflow's own level only, not inside a subgraph.
 */
import { graphStore } from '../store/graphStore';
import { useStore } from '../store/store';
import { subgraphNav } from '../store/subgraphNav';
import type { EditorNode } from '../workflow/types';
import { appWidgetChoices, isOutputNode } from './appForm';
import { addToAppView, removeFromAppView, toggleAppOutput } from './appViewStore';
import { appFields, appOutputNodeIds, sameField } from './linearData';
import { rightClickedWidget } from './widgetTarget';

export function AppMenuEntries({ node, act }: { node: EditorNode; act: (fn: () => void) => () => void }) {
  const extra = useStore(graphStore, (s) => s.meta.extra);
  const atRoot = useStore(subgraphNav, (s) => s.frames.length === 0);
  const defs = graphStore.get().defs;
  const choices = appWidgetChoices(node, defs);
  const output = isOutputNode(node, defs);
  if (!atRoot || (choices.length === 0 && !output)) return null;
  const shown = appOutputNodeIds(extra).includes(node.id);
  const fields = appFields(extra);
  const indexOf = (widget: string) => fields.findIndex((f) => sameField(f, { nodeId: node.id, widget }));
  const toggle = (widget: string) => {
    const index = indexOf(widget);
    return act(() => (index >= 0 ? removeFromAppView(index) : addToAppView({ nodeId: node.id, widget })));
  };
  const clicked = rightClickedWidget(node.id);
  const direct = clicked && choices.some((c) => c.name === clicked) ? clicked : null;
  return (
    <>
      {direct && (
        <li role="menuitem" onClick={toggle(direct)}>
          {indexOf(direct) >= 0 ? `Remove ${direct} from app view` : `Add ${direct} to app view`}
        </li>
      )}
      {choices.length > 0 && (
        <li role="menuitem" aria-haspopup="menu" className="lg-submenu">
          Add widget to app view <span aria-hidden>▸</span>
          <ul className="lg-menu lg-submenu-list" role="menu" aria-label="Add widget to app view">
            {choices.map((c) => (
              <li key={c.name} role="menuitemcheckbox" aria-checked={indexOf(c.name) >= 0} onClick={toggle(c.name)}>
                {c.name} <span aria-hidden>{indexOf(c.name) >= 0 ? '✓' : ''}</span>
              </li>
            ))}
          </ul>
        </li>
      )}
      {output && (
        <li role="menuitem" onClick={act(() => toggleAppOutput(node.id, shown))}>
          {shown ? 'Hide from app view' : 'Show in app view'}
        </li>
      )}
    </>
  );
}
