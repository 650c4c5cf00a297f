/** The subgraph entries of a node's context menu (NodeMenu mounts them; the list is in subgraphMenu.ts). */
import type { EditorNode } from '../workflow/types';
import { subgraphMenuItems } from './subgraphMenu';

export function SubgraphMenuEntries({ node, wrap }: { node: EditorNode; wrap: (fn: () => void) => () => void }) {
  return (
    <>
      {subgraphMenuItems(node).map((item) => (
        <li key={item.label} role="menuitem" onClick={wrap(item.run)}>
          {item.label} {item.kbd && <kbd>{item.kbd}</kbd>}
        </li>
      ))}
    </>
  );
}
