/** The editor: toolbar, side strip and sidebar, canvas (or the app view), queue panel, message line; wires the socket, settings and autosave. */
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { connectSocket } from './api/socket';
import { AppView } from './appview/AppView';
import { adoptWorkflowView } from './appview/appModeSync';
import { appViewStore } from './appview/appViewStore';
import { AppViewToggle } from './appview/AppViewToggle';
import { Canvas } from './editor/Canvas';
import { refreshDefs } from './editor/defsLoader';
import { autosave, openFile, restoreOrDefault } from './editor/files';
import { useShortcuts } from './editor/keyboard';
import { ImageViewer } from './editor/ImageViewer';
import { MissingDialog } from './editor/MissingDialog';
import { WorkflowBrowser } from './editor/WorkflowBrowser';
import { QueuePanel } from './editor/QueuePanel';
import { TabBar } from './editor/TabBar';
import { Toolbar } from './editor/Toolbar';
import { viewport } from './editor/viewport';
import { SettingsDialog } from './settings/SettingsDialog';
import { loadKeybindings } from './settings/keybindingStore';
import { loadSettings } from './settings/settingsStore';
import { dropOnCanvas } from './sidebar/placeNode';
import { SideStrip } from './sidebar/SideStrip';
import { Sidebar, type SidebarTab } from './sidebar/Sidebar';
import { graphStore } from './store/graphStore';
import { runStore } from './store/runStore';
import { useStore } from './store/store';

function ViewportBridge() {
  const rf = useReactFlow();
  useEffect(() => {
    viewport.api = {
      get: () => rf.getViewport(),
      set: (v) => void rf.setViewport(v),
      fit: () => void rf.fitView({ padding: 0.1 }),
      toFlow: (p) => rf.screenToFlowPosition(p),
    };
    return () => {
      viewport.api = null;
    };
  }, [rf]);
  return null;
}

function MessageLine() {
  const message = useStore(runStore, (s) => s.message);
  if (!message) return null;
  return (
    <div className={`lg-message ${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'}>
      <span>{message.text}</span>
      <button aria-label="dismiss" onClick={() => runStore.set({ message: null })}>
        ×
      </button>
    </div>
  );
}

export function App() {
  const [ready, setReady] = useState(false);
  const [batchCount, setBatchCount] = useState(1);
  const [queueOpen, setQueueOpen] = useState(false);
  const [browserOpen, setBrowserOpen] = useState(false);
  const closeBrowser = useCallback(() => setBrowserOpen(false), []);
  const fileInput = useRef<HTMLInputElement>(null);
  const batchRef = useRef(batchCount);
  batchRef.current = batchCount;
  const openFilePicker = useCallback(() => fileInput.current?.click(), []);
  const getBatch = useCallback(() => batchRef.current, []);
  const [sidebarTab, setSidebarTab] = useState<SidebarTab | null>(null);
  const toggleSidebar = useCallback((tab: SidebarTab) => setSidebarTab((open) => (open === tab ? null : tab)), []);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const openSettings = useCallback(() => setSettingsOpen(true), []);
  const closeSettings = useCallback(() => setSettingsOpen(false), []);
  useShortcuts({ batchCount: getBatch, openFilePicker, toggleSidebar, openSettings });
  const appViewOpen = useStore(appViewStore, (s) => s.open);

  // The canvas is drawn once the settings are in (no flash of the wrong links or theme); the
  // node types load meanwhile, and the workflow is restored onto the drawn canvas.
  const [settingsReady, setSettingsReady] = useState(false);
  const defsLoaded = useRef<Promise<boolean> | null>(null);
  useEffect(() => {
    const close = connectSocket(runStore.get().clientId, {
      onEvent: runStore.handleEvent,
      onBinary: runStore.handleBinary,
      onOpenChange: (connected) => runStore.set({ connected }),
    });
    defsLoaded.current = refreshDefs();
    void Promise.all([loadSettings(), loadKeybindings()]).then(() => setSettingsReady(true));
    return close;
  }, []);
  useEffect(() => {
    if (!settingsReady) return;
    void defsLoaded.current?.then(() => {
      restoreOrDefault();
      adoptWorkflowView(); // the autosave alone does not name its workflow: show the view it was saved in
      setReady(true);
    });
  }, [settingsReady]);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let saved = graphStore.get().revision;
    const unsubscribe = graphStore.subscribe(() => {
      const { revision } = graphStore.get();
      if (revision === saved) return; // selection and other view-only changes
      saved = revision;
      clearTimeout(timer);
      timer = setTimeout(autosave, 500);
    });
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, []);

  return (
    <ReactFlowProvider>
      <ViewportBridge />
      <div className="lg-app" data-ready={ready ? 'true' : 'false'}>
        <Toolbar
          batchCount={batchCount}
          setBatchCount={setBatchCount}
          openFilePicker={openFilePicker}
          openBrowser={() => setBrowserOpen(true)}
          queueOpen={queueOpen}
          toggleQueue={() => setQueueOpen((o) => !o)}
        />
        <TabBar />
        <main className="lg-main" onDrop={dropOnCanvas}>
          <SideStrip sidebarTab={sidebarTab} toggleSidebar={toggleSidebar} openSettings={openSettings} />
          {sidebarTab && <Sidebar tab={sidebarTab} setTab={setSidebarTab} />}
          <div className="lg-work-area">
            {settingsReady && <Canvas />}
            {appViewOpen && <AppView batchCount={batchCount} />}
            <AppViewToggle />
          </div>
          {queueOpen && <QueuePanel />}
        </main>
        <MessageLine />
        {browserOpen && <WorkflowBrowser onClose={closeBrowser} />}
        {settingsOpen && <SettingsDialog onClose={closeSettings} />}
        <MissingDialog />
        <ImageViewer />
        <input
          ref={fileInput}
          type="file"
          accept=".json,.png,.jpg,.jpeg,.webp,application/json,image/png,image/jpeg,image/webp"
          hidden
          data-testid="open-file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void openFile(file);
            e.target.value = '';
          }}
        />
      </div>
    </ReactFlowProvider>
  );
}
