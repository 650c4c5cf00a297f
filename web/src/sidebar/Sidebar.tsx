/** The left sidebar: the node library and the model library as two tabs (keys N and M). */
import { ModelLibrary } from './ModelLibrary';
import { NodeLibrary } from './NodeLibrary';

export type SidebarTab = 'nodes' | 'models';

const TABS: { id: SidebarTab; label: string; key: string }[] = [
  { id: 'nodes', label: 'Nodes', key: 'N' },
  { id: 'models', label: 'Models', key: 'M' },
];

export function Sidebar({ tab, setTab }: { tab: SidebarTab; setTab: (tab: SidebarTab | null) => void }) {
  return (
    <aside className="lg-sidebar" data-testid="sidebar">
      <div className="lg-sidebar-tabs">
        {TABS.map((t) => (
          <button key={t.id} aria-pressed={tab === t.id} title={`${t.label} (${t.key})`} onClick={() => setTab(t.id)}>
            {t.label}
          </button>
        ))}
        <button className="lg-sidebar-close" aria-label="close sidebar" onClick={() => setTab(null)}>
          ×
        </button>
      </div>
      {tab === 'nodes' ? <NodeLibrary /> : <ModelLibrary />}
    </aside>
  );
}
