import { describe, expect, it } from 'vitest';
import { newTab, switchTab, tabStore } from '../editor/tabs';
import { graphStore } from '../store/graphStore';
import { markSaved } from '../store/workflowStore';
import { defaultWorkflow } from '../workflow/defaultGraph';
import { uiToEditor } from '../workflow/fromUi';
import { defs } from '../workflow/testUtil';
import { editorToUi } from '../workflow/toUi';
import { adoptWorkflowView } from './appModeSync';
import { addToAppView, appViewStore, setAppViewOpen } from './appViewStore';

/** What opening a file does: the graph in, then the workflow named (editor/files.ts loadGraph). */
function open(extra: Record<string, unknown>, name: string): void {
  const ui = { ...defaultWorkflow('tiny.safetensors'), extra };
  graphStore.load(uiToEditor(ui, defs).graph);
  markSaved(name, null);
}

const shown = () => appViewStore.get().open;
const stored = () => editorToUi(graphStore.graph(), defs).extra?.linearMode;
const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('the view a workflow opens in (extra.linearMode)', () => {
  it('opens a workflow saved in app mode in the app view; switching views writes it back', async () => {
    graphStore.setDefs(defs);
    open({ linearMode: true }, 'app.json');
    expect(shown()).toBe(true);
    open({}, 'plain.json');
    expect(shown()).toBe(false);
    expect(stored()).toBeUndefined();

    addToAppView({ nodeId: '3', widget: 'seed' });
    const revision = graphStore.get().revision;
    setAppViewOpen(true);
    expect(stored()).toBe(true);
    expect(graphStore.get().revision).toBe(revision + 1); // saved and autosaved like an edit
    graphStore.undo(); // back before the field was added: that extra had no linearMode
    expect(stored()).toBeUndefined();
    await settle();
    expect(shown()).toBe(true);
    expect(stored()).toBe(true); // the shown view is written back
    graphStore.redo();
    await settle();
    expect(stored()).toBe(true);
    setAppViewOpen(false);
    expect(stored()).toBe(false);
  });

  it('keeps the view per tab', async () => {
    graphStore.setDefs(defs);
    open({}, 'first.json');
    setAppViewOpen(true);
    const first = tabStore.get().activeId;
    newTab();
    await settle();
    expect(shown()).toBe(false); // a new tab starts in the graph
    const second = tabStore.get().activeId;
    switchTab(first);
    await settle();
    expect(shown()).toBe(true);
    switchTab(second);
    await settle();
    expect(shown()).toBe(false);
    expect(stored()).toBeUndefined();
  });

  it('adopts the view of a workflow put back without a name (the single autosave)', () => {
    graphStore.load(uiToEditor({ ...defaultWorkflow('tiny.safetensors'), extra: { linearMode: true } }, defs).graph);
    adoptWorkflowView();
    expect(shown()).toBe(true);
  });
});
