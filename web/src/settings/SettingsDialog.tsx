/** The settings dialog (toolbar button, Ctrl+,): canvas, run and look settings, and the shortcut list (editable). */
import { useEffect } from 'react';
import { runStore } from '../store/runStore';
import { useStore } from '../store/store';
import { type EditorSettings, GRID_SIZE_RANGE, LINK_MODES, PREVIEW_METHODS, readSetting, type SettingKey, THEMES } from './settingsSchema';
import { changeSetting, settingsStore } from './settingsStore';
import { KeybindingEditor } from './KeybindingEditor';

const PREVIEW_LABELS: Record<string, string> = {
  auto: 'auto',
  latent2rgb: 'latent2rgb (fast, rough)',
  taesd: 'taesd (tiny decoder)',
  none: 'none',
  default: 'as the server is started',
};

function save<K extends SettingKey>(key: K, value: EditorSettings[K]): void {
  changeSetting(key, value).catch((e: Error) => runStore.notify(e.message, 'error'));
}

export function SettingsDialog({ onClose }: { onClose: () => void }) {
  const s = useStore(settingsStore, (state) => state);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="lg-modal-backdrop" onMouseDown={onClose}>
      <div className="lg-modal lg-settings" role="dialog" aria-label="Settings" onMouseDown={(e) => e.stopPropagation()}>
        <h3>Settings</h3>
        <div className="lg-settings-grid">
          <label htmlFor="lg-link-mode">Link style</label>
          <select
            id="lg-link-mode"
            value={s.linkRenderMode}
            onChange={(e) => save('linkRenderMode', readSetting('linkRenderMode', Number(e.target.value)))}
          >
            {LINK_MODES.map((m) => (
              <option key={m.value} value={m.value}>
                {m.label}
              </option>
            ))}
          </select>
          <label htmlFor="lg-snap">Snap to grid</label>
          <span>
            <input id="lg-snap" type="checkbox" checked={s.snapToGrid} onChange={(e) => save('snapToGrid', e.target.checked)} />{' '}
            <input
              type="number"
              aria-label="grid size"
              min={GRID_SIZE_RANGE.min}
              max={GRID_SIZE_RANGE.max}
              value={s.gridSize}
              onChange={(e) => save('gridSize', readSetting('gridSize', Number(e.target.value)))}
            />{' '}
            px
          </span>
          <label htmlFor="lg-preview">Live preview method</label>
          <select
            id="lg-preview"
            value={s.previewMethod}
            onChange={(e) => save('previewMethod', readSetting('previewMethod', e.target.value))}
          >
            {PREVIEW_METHODS.map((m) => (
              <option key={m} value={m}>
                {PREVIEW_LABELS[m]}
              </option>
            ))}
          </select>
          <label htmlFor="lg-theme">Theme</label>
          <select id="lg-theme" value={s.theme} onChange={(e) => save('theme', readSetting('theme', e.target.value))}>
            {THEMES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <KeybindingEditor />
        <div className="lg-modal-buttons">
          <button onClick={onClose}>Close</button>
        </div>
      </div>
    </div>
  );
}
