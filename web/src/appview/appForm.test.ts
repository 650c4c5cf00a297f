import { describe, expect, it } from 'vitest';
import { defaultWorkflow } from '../workflow/defaultGraph';
import { uiToEditor } from '../workflow/fromUi';
import { defs } from '../workflow/testUtil';
import { appOutputImages, appOutputs, appWidgetChoices, formFields, isOutputNode } from './appForm';

const graph = uiToEditor(defaultWorkflow('tiny.safetensors'), defs).graph;
const byId = (id: string) => graph.nodes.find((n) => n.id === id)!;

describe('app view form', () => {
  it('labels fields "node title › widget" with their widget definition', () => {
    const fields = formFields(
      [
        { nodeId: '6', widget: 'text' },
        { nodeId: '3', widget: 'seed' },
      ],
      graph.nodes,
      defs,
    );
    expect(fields.map((f) => f.label)).toEqual([`${byId('6').title} › text`, `${byId('3').title} › seed`]);
    expect(fields[1].input?.type).toBe('INT');
    expect(fields[1].input?.control).toBe(true);
    expect(fields.map((f) => f.index)).toEqual([0, 1]);
    expect(fields.every((f) => f.problem === undefined)).toBe(true);
  });

  it('says why a field cannot be edited: node gone, widget unknown, widget made an input', () => {
    const nodes = graph.nodes.map((n) => (n.id === '3' ? { ...n, converted: ['seed'] } : n));
    const fields = formFields(
      [
        { nodeId: '99', widget: 'seed' },
        { nodeId: '6', widget: 'nope' },
        { nodeId: '3', widget: 'seed' },
      ],
      nodes,
      defs,
    );
    expect(fields.map((f) => f.problem)).toEqual(['node not in the workflow', 'no such widget', 'turned into an input socket']);
    expect(fields[0].label).toBe('#99 › seed');
  });

  it('offers the widgets of a node, not those turned into sockets', () => {
    const ksampler = byId('3');
    expect(appWidgetChoices(ksampler, defs).map((i) => i.name)).toContain('seed');
    expect(appWidgetChoices({ ...ksampler, converted: ['seed'] }, defs).map((i) => i.name)).not.toContain('seed');
    expect(appWidgetChoices(byId('8'), defs)).toEqual([]); // VAEDecode: sockets only
  });

  it('collects the latest images of output nodes in node order, the named outputs only when named', () => {
    const nodes = [byId('9'), { ...byId('9'), id: '12' }];
    const outputs = {
      '12': { images: [{ filename: 'b.png' }] },
      '9': { images: [{ filename: 'a.png' }, { nope: 1 }] },
      '12:4': { images: [{ filename: 'inner.png' }] },
      '77': { images: [{ filename: 'other-workflow.png' }] },
    };
    expect(appOutputImages(outputs, nodes, []).map((i) => i.filename)).toEqual(['a.png', 'b.png', 'inner.png']);
    expect(appOutputImages(outputs, nodes, ['12']).map((i) => i.filename)).toEqual(['b.png', 'inner.png']);
  });

  it('lists the chosen outputs in the chosen order, titled, with a note for a deleted node', () => {
    const save = { ...byId('9'), title: 'Final image' };
    const preview = { ...byId('9'), id: '12', title: '' };
    const outputs = { '9': { images: [{ filename: 'a.png' }] }, '12': { images: [{ filename: 'b.png' }] } };
    const shown = appOutputs(outputs, [save, preview], ['12', '40', '9']);
    expect(shown.map((o) => [o.nodeId, o.title, o.images.map((i) => i.filename), o.missing])).toEqual([
      ['12', preview.type, ['b.png'], false],
      ['40', '#40', [], true],
      ['9', 'Final image', ['a.png'], false],
    ]);
    expect(shown.every((o) => o.chosen)).toBe(true);
    // None chosen: every node with images, in node order, not removable.
    expect(appOutputs(outputs, [preview, save], []).map((o) => [o.title, o.chosen])).toEqual([
      [preview.type, false],
      ['Final image', false],
    ]);
  });

  it('knows output nodes by their definition', () => {
    expect(isOutputNode(byId('9'), defs)).toBe(true); // SaveImage
    expect(isOutputNode(byId('3'), defs)).toBe(false);
  });
});
