/** The strip of open workflows: one tab each (name, unsaved dot, close), and "+" for a new one. */
import { graphStore } from '../store/graphStore';
import { useStore } from '../store/store';
import { workflowStore } from '../store/workflowStore';
import { Breadcrumb } from './Breadcrumb';
import './tabPersist'; // restores the open tabs on start and keeps them in localStorage
import { closeTab, isTabDirty, newTab, switchTab, tabStore } from './tabs';

export function TabBar() {
  const tabs = useStore(tabStore, (s) => s.tabs);
  const activeId = useStore(tabStore, (s) => s.activeId);
  // Re-render when the active graph changes or is saved, so its dot is current.
  useStore(graphStore, (s) => s.revision);
  useStore(workflowStore, (s) => s.savedRevision);
  return (
    <>
      <nav className="lg-tabs" role="tablist" aria-label="Open workflows">
        {tabs.map((t) => {
          const dirty = isTabDirty(t.id);
          return (
            <div
              key={t.id}
              role="tab"
              className={t.id === activeId ? 'lg-tab active' : 'lg-tab'}
              aria-selected={t.id === activeId}
              data-tab-id={t.id}
              data-dirty={dirty ? 'true' : 'false'}
              title={t.name}
              onClick={() => switchTab(t.id)}
              onAuxClick={(e) => e.button === 1 && closeTab(t.id)}
            >
              <span className="lg-tab-name">{t.name}</span>
              {dirty && <span className="lg-tab-dirty">•</span>}
              <button
                className="lg-tab-close"
                aria-label={`close ${t.name}`}
                onClick={(e) => {
                  e.stopPropagation();
                  closeTab(t.id);
                }}
              >
                ×
              </button>
            </div>
          );
        })}
        <button className="lg-tab-new" aria-label="new tab" title="New workflow tab" onClick={newTab}>
          +
        </button>
      </nav>
      <Breadcrumb />
    </>
  );
}
