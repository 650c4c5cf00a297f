/**
 * The left button strip (ComfyUI's side toolbar): node library (N), model library (M) and
 * settings (Ctrl+,). It floats over the canvas edge, beside the sidebar when one is open, so the
 * top toolbar stays one row and the canvas keeps its size.
 */
import type { SidebarTab } from './Sidebar';

export interface SideStripProps {
  sidebarTab: SidebarTab | null;
  toggleSidebar: (tab: SidebarTab) => void;
  openSettings: () => void;
}

export function SideStrip({ sidebarTab, toggleSidebar, openSettings }: SideStripProps) {
  return (
    <nav className={sidebarTab ? 'lg-side-strip beside-sidebar' : 'lg-side-strip'} aria-label="Side toolbar">
      <button
        aria-label="Node library"
        title="Node library (N)"
        aria-pressed={sidebarTab === 'nodes'}
        onClick={() => toggleSidebar('nodes')}
      >
        ⊞
      </button>
      <button
        aria-label="Model library"
        title="Model library (M)"
        aria-pressed={sidebarTab === 'models'}
        onClick={() => toggleSidebar('models')}
      >
        ▤
      </button>
      <button aria-label="Settings" title="Settings and keyboard shortcuts (Ctrl+,)" onClick={openSettings}>
        ⚙
      </button>
    </nav>
  );
}
