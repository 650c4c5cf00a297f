import { describe, expect, it } from 'vitest';
import { graphStore } from '../store/graphStore';
import { defaultWorkflow } from '../workflow/defaultGraph';
import { uiToEditor } from '../workflow/fromUi';
import { defs } from '../workflow/testUtil';
import { editorToUi } from '../workflow/toUi';
import { addToAppView, moveAppOutput, moveInAppView, removeFromAppView, toggleAppOutput } from './appViewStore';
import { appFields, appOutputNodeIds } from './linearData';

describe('app view edits', () => {
  it('are undoable graph edits that are saved with the workflow', () => {
    graphStore.setDefs(defs);
    graphStore.load(uiToEditor(defaultWorkflow('tiny.safetensors'), defs).graph);
    const fields = () => appFields(graphStore.get().meta.extra).map((f) => `${f.nodeId}:${f.widget}`);
    const revision = graphStore.get().revision;
    addToAppView({ nodeId: '6', widget: 'text' });
    addToAppView({ nodeId: '3', widget: 'seed' });
    addToAppView({ nodeId: '3', widget: 'seed' }); // already there: no edit
    moveInAppView(1, -1);
    expect(fields()).toEqual(['3:seed', '6:text']);
    expect(graphStore.get().revision).toBe(revision + 3);
    expect(editorToUi(graphStore.graph(), defs).extra?.linearData).toEqual({
      inputs: [
        [3, 'seed'],
        [6, 'text'],
      ],
      outputs: [],
    });

    graphStore.undo();
    expect(fields()).toEqual(['6:text', '3:seed']);
    removeFromAppView(0);
    expect(fields()).toEqual(['3:seed']);
    graphStore.undo();
    graphStore.undo();
    expect(fields()).toEqual(['6:text']);
    graphStore.redo();
    expect(fields()).toEqual(['6:text', '3:seed']);
  });

  it('moves chosen outputs as undoable edits kept in extra.linearData.outputs', () => {
    graphStore.setDefs(defs);
    graphStore.load(uiToEditor(defaultWorkflow('tiny.safetensors'), defs).graph);
    const outputs = () => appOutputNodeIds(graphStore.get().meta.extra);
    toggleAppOutput('9', false);
    toggleAppOutput('8', false);
    const revision = graphStore.get().revision;
    moveAppOutput('8', -1);
    moveAppOutput('8', -1); // at the top already: no edit
    expect(outputs()).toEqual(['8', '9']);
    expect(graphStore.get().revision).toBe(revision + 1);
    expect((editorToUi(graphStore.graph(), defs).extra?.linearData as { outputs: unknown }).outputs).toEqual([8, 9]);
    graphStore.undo();
    expect(outputs()).toEqual(['9', '8']);
  });
});
