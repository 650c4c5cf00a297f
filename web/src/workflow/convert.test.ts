import { describe, expect, it } from 'vitest';
import apiFixture from './__fixtures__/txt2img_api.json';
import { defaultWorkflow } from './defaultGraph';
import { apiToEditor } from './fromApi';
import { uiToEditor, WorkflowError } from './fromUi';
import { editorToPrompt } from './toPrompt';
import { editorToUi } from './toUi';
import { defs, sdxlWorkflow } from './testUtil';
import type { EditorGraph, UiLinkArray } from './types';

const node = (g: EditorGraph, id: string) => g.nodes.find((n) => n.id === id)!;

describe('UI workflow → editor', () => {
  it('reads every node, link, widget value and group of a ComfyUI-saved workflow', () => {
    const { graph, warnings, missingTypes } = uiToEditor(sdxlWorkflow(), defs);
    expect(warnings).toEqual([]);
    expect(graph.nodes.map((n) => n.id).sort()).toEqual(['10', '11', '12', '13', '14', '15', '16', '7']);
    expect(graph.links).toHaveLength(9);
    const ks = node(graph, '12');
    expect(ks.widgets).toEqual({ seed: 812045847300606, steps: 25, cfg: 7, sampler_name: 'dpmpp_2m', scheduler: 'karras', denoise: 1 });
    expect(ks.controls).toEqual({ seed: 'randomize' });
    expect(ks.title).toBe('KSampler');
    expect(node(graph, '13').widgets).toEqual({ width: 1024, height: 1024, batch_size: 1 });
    expect(graph.links.find((l) => l.id === 35)).toEqual({
      id: 35,
      source: '13',
      sourceSlot: 0,
      target: '12',
      targetInput: 'latent_image',
      type: 'LATENT',
    });
    expect(graph.groups.map((g) => g.title)).toEqual(['Prompt', 'Image Size']);
    expect(graph.lastNodeId).toBeGreaterThanOrEqual(16);
    // MarkdownNote is a frontend-only node: kept raw, not reported missing.
    expect(node(graph, '16').raw?.widgets_values).toHaveLength(1);
    expect(missingTypes).toEqual([]);
  });

  it('reads version 1 link objects and state counters', () => {
    const wf = sdxlWorkflow();
    const links = (wf.links as UiLinkArray[]).map(([id, o, os, t, ts, type]) => ({
      id,
      origin_id: o,
      origin_slot: os,
      target_id: t,
      target_slot: ts,
      type,
    }));
    const v1 = { ...wf, version: 1, links, state: { lastNodeId: 40, lastLinkId: 99 } } as Record<string, unknown>;
    delete v1.last_node_id;
    delete v1.last_link_id;
    const { graph } = uiToEditor(v1, defs);
    expect(graph.links).toEqual(uiToEditor(sdxlWorkflow(), defs).graph.links);
    expect(graph.lastNodeId).toBe(40);
    expect(graph.lastLinkId).toBe(99);
  });

  it('accepts a boolean or an absent control_after_generate slot', () => {
    const wf = sdxlWorkflow();
    const ks = wf.nodes.find((n) => n.id === 12)!;
    ks.widgets_values = [5, true, 20, 8, 'euler', 'normal', 1];
    expect(uiToEditor(wf, defs).graph.nodes.find((n) => n.id === '12')!.controls.seed).toBe('randomize');
    ks.widgets_values = [5, 20, 8, 'euler', 'normal', 1];
    const g = uiToEditor(wf, defs).graph.nodes.find((n) => n.id === '12')!;
    expect(g.controls.seed).toBe('fixed');
    expect(g.widgets).toMatchObject({ seed: 5, steps: 20, cfg: 8, sampler_name: 'euler', denoise: 1 });
  });

  it('marks a linked widget input as converted', () => {
    const wf = sdxlWorkflow();
    wf.nodes.push({
      id: 20,
      type: 'PrimitiveInt',
      pos: [0, 0],
      mode: 0,
      outputs: [{ name: 'INT', type: 'INT', links: [50] }],
      widgets_values: [7, 'fixed'],
    });
    wf.nodes.find((n) => n.id === 12)!.inputs!.push({ name: 'seed', type: 'INT', link: 50, widget: { name: 'seed' } });
    wf.links.push([50, 20, 0, 12, 4, 'INT']);
    const { graph } = uiToEditor(wf, defs);
    expect(node(graph, '12').converted).toEqual(['seed']);
    expect(graph.links.find((l) => l.id === 50)?.targetInput).toBe('seed');
    expect(editorToPrompt(graph, defs)['12'].inputs.seed).toEqual(['20', 0]);
  });

  it('keeps nodes of unknown types, marked missing, with their slots and values', () => {
    const wf = sdxlWorkflow();
    wf.nodes.find((n) => n.id === 14)!.type = 'FancyDecode';
    const { graph, missingTypes } = uiToEditor(wf, defs);
    expect(missingTypes).toEqual(['FancyDecode']);
    const n = node(graph, '14');
    expect(n.raw?.inputs.map((i) => i.name)).toEqual(['samples', 'vae']);
    expect(
      graph.links
        .filter((l) => l.target === '14')
        .map((l) => l.targetInput)
        .sort(),
    ).toEqual(['#0', '#1']);
    const back = editorToUi(graph, defs);
    expect(back.nodes.find((x) => x.id === 14)!.type).toBe('FancyDecode');
    expect(back.links).toHaveLength(9);
  });
});

describe('bad workflow files', () => {
  it.each([
    [null, 'not a JSON object'],
    [{ version: 0.4 }, '"nodes" is not a list'],
    [{ '3': { class_type: 'KSampler', inputs: {} } }, 'API-format'],
    [{ nodes: [{ id: 1 }], links: [] }, 'nodes[0] (id 1): missing "type"'],
    [{ nodes: [{ type: 'KSampler' }], links: [] }, 'nodes[0]: missing "id"'],
    [{ nodes: [], links: [[1, 2]] }, 'links[0]: expected 6 entries'],
    [{ nodes: [], links: 'x' }, '"links" is not a list'],
  ])('%j is refused with a message naming where', (wf, message) => {
    expect(() => uiToEditor(wf, defs)).toThrow(WorkflowError);
    expect(() => uiToEditor(wf, defs)).toThrow(message);
  });

  it('drops links to missing nodes or slots with a warning and keeps the rest', () => {
    const wf = sdxlWorkflow();
    wf.links.push([70, 99, 0, 12, 0, 'MODEL'], [71, 15, 7, 12, 0, 'MODEL'], [72, 15, 0, 12, 9, 'MODEL']);
    const { graph, warnings } = uiToEditor(wf, defs);
    expect(graph.links).toHaveLength(9);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain('node 99 does not exist');
    expect(warnings[1]).toContain('no output slot 7');
    expect(warnings[2]).toContain('no input slot 9');
  });
});

describe('editor → API prompt', () => {
  it('matches graphToPrompt on ComfyUI-saved workflow', () => {
    const prompt = editorToPrompt(uiToEditor(sdxlWorkflow(), defs).graph, defs);
    expect(Object.keys(prompt).sort()).toEqual(['10', '11', '12', '13', '14', '15', '7']);
    expect(prompt['12']).toEqual({
      class_type: 'KSampler',
      inputs: {
        seed: 812045847300606,
        steps: 25,
        cfg: 7,
        sampler_name: 'dpmpp_2m',
        scheduler: 'karras',
        denoise: 1,
        model: ['15', 0],
        positive: ['10', 0],
        negative: ['11', 0],
        latent_image: ['13', 0],
      },
      _meta: { title: 'KSampler' },
    });
    expect(prompt['7']).toEqual({
      class_type: 'SaveImage',
      inputs: { filename_prefix: 'sdxl_simple', images: ['14', 0] },
      _meta: { title: 'Save Image' },
    });
  });

  it('turns the default graph into the reference txt2img API prompt', () => {
    const { graph } = uiToEditor(defaultWorkflow('v1-5-pruned-emaonly-fp16.safetensors'), defs);
    node(graph, '6').widgets.text = 'a photo of a cat';
    node(graph, '7').widgets.text = 'blurry';
    node(graph, '3').widgets.seed = 42;
    node(graph, '9').widgets.filename_prefix = 'bench';
    expect(editorToPrompt(graph, defs)).toEqual(apiFixture);
  });

  it('drops muted nodes and the inputs pointing at them', () => {
    const { graph } = uiToEditor(sdxlWorkflow(), defs);
    node(graph, '14').mode = 2;
    const prompt = editorToPrompt(graph, defs);
    expect(prompt['14']).toBeUndefined();
    expect(prompt['7'].inputs).toEqual({ filename_prefix: 'sdxl_simple' });
  });

  it('passes a bypassed node through by type', () => {
    const { graph } = uiToEditor(sdxlWorkflow(), defs);
    graph.nodes.push({
      id: '30',
      type: 'ImageInvert',
      title: 'Invert',
      pos: [0, 0],
      mode: 4,
      widgets: {},
      controls: {},
      converted: [],
      properties: {},
    });
    const l = graph.links.find((x) => x.id === 37)!;
    l.target = '30';
    l.targetInput = 'image';
    graph.links.push({ id: 60, source: '30', sourceSlot: 0, target: '7', targetInput: 'images', type: 'IMAGE' });
    const prompt = editorToPrompt(graph, defs);
    expect(prompt['30']).toBeUndefined();
    expect(prompt['7'].inputs.images).toEqual(['14', 0]);
    node(graph, '30').mode = 0;
    expect(editorToPrompt(graph, defs)['7'].inputs.images).toEqual(['30', 0]);
  });

  it('follows Reroute nodes and takes PrimitiveNode values', () => {
    const wf = sdxlWorkflow();
    wf.nodes.push(
      {
        id: 40,
        type: 'Reroute',
        pos: [0, 0],
        mode: 0,
        inputs: [{ name: '', type: '*', link: 80 }],
        outputs: [{ name: '', type: 'IMAGE', links: [81] }],
      },
      {
        id: 41,
        type: 'PrimitiveNode',
        pos: [0, 0],
        mode: 0,
        outputs: [{ name: 'INT', type: 'INT', links: [82], widget: { name: 'steps' } }],
        widgets_values: [33, 'fixed'],
      },
    );
    wf.links = (wf.links as UiLinkArray[]).filter((l) => l[0] !== 37);
    wf.links.push([80, 14, 0, 40, 0, 'IMAGE'], [81, 40, 0, 7, 0, 'IMAGE'], [82, 41, 0, 12, 4, 'INT']);
    wf.nodes.find((n) => n.id === 12)!.inputs!.push({ name: 'steps', type: 'INT', link: 82, widget: { name: 'steps' } });
    const { graph, warnings } = uiToEditor(wf, defs);
    expect(warnings).toEqual([]);
    const prompt = editorToPrompt(graph, defs);
    expect(prompt['40']).toBeUndefined();
    expect(prompt['41']).toBeUndefined();
    expect(prompt['7'].inputs.images).toEqual(['14', 0]);
    expect(prompt['12'].inputs.steps).toBe(33);
  });
});

describe('editor → UI workflow', () => {
  it('round-trips a ComfyUI-saved workflow: same nodes, links and widget values', () => {
    const original = sdxlWorkflow();
    const saved = editorToUi(uiToEditor(original, defs).graph, defs);
    expect(saved.version).toBe(0.4);
    expect([...saved.links].sort((a, b) => (a as UiLinkArray)[0] - (b as UiLinkArray)[0])).toEqual(original.links);
    for (const n of original.nodes) {
      const s = saved.nodes.find((x) => x.id === n.id)!;
      expect(s.type).toBe(n.type);
      expect(s.pos).toEqual(n.pos);
      expect(s.widgets_values ?? []).toEqual(n.widgets_values ?? []);
    }
    expect(saved.groups?.map((g) => g.bounding)).toEqual(original.groups?.map((g) => g.bounding));
    expect(uiToEditor(saved, defs).graph).toEqual({ ...uiToEditor(original, defs).graph, workflowId: original.id });
  });

  it('writes back top-level keys it does not use (models, definitions) and names subgraph instances', () => {
    const wf = sdxlWorkflow() as Record<string, unknown> & ReturnType<typeof sdxlWorkflow>;
    const id = '9a3c1f52-0000-4000-8000-000000000001';
    wf.models = [{ name: 'sd_xl_base_1.0.safetensors', url: 'https://example.invalid/x', directory: 'checkpoints' }];
    wf.definitions = { subgraphs: [{ id, name: 'Upscale pass', nodes: [], links: [] }] };
    wf.nodes.push({ id: 30, type: id, pos: [0, 0], mode: 0, inputs: [], outputs: [], widgets_values: [] });
    const { graph, warnings, missingTypes } = uiToEditor(wf, defs);
    expect(node(graph, '30').title).toBe('Upscale pass');
    expect(warnings).toEqual([]);
    expect(missingTypes).toEqual([]); // an instance's type is its definition, not a missing node type
    const saved = editorToUi(graph, defs);
    expect(saved.models).toEqual(wf.models);
    expect(saved.definitions).toEqual(wf.definitions);
    expect(saved.version).toBe(0.4);
  });

  it('writes converted widgets as input slots after the sockets', () => {
    const { graph } = uiToEditor(sdxlWorkflow(), defs);
    node(graph, '12').converted = ['seed'];
    graph.nodes.push({
      id: '50',
      type: 'PrimitiveInt',
      title: 'Int',
      pos: [0, 0],
      mode: 0,
      widgets: { value: 3 },
      controls: { value: 'fixed' },
      converted: [],
      properties: {},
    });
    graph.links.push({ id: 90, source: '50', sourceSlot: 0, target: '12', targetInput: 'seed', type: 'INT' });
    const saved = editorToUi(graph, defs);
    const ks = saved.nodes.find((n) => n.id === 12)!;
    expect(ks.inputs!.map((i) => i.name)).toEqual(['model', 'positive', 'negative', 'latent_image', 'seed']);
    expect(ks.inputs![4]).toEqual({ name: 'seed', type: 'INT', link: 90, widget: { name: 'seed' } });
    expect(saved.links).toContainEqual([90, 50, 0, 12, 4, 'INT']);
    expect(saved.nodes.find((n) => n.id === 50)!.widgets_values).toEqual([3, 'fixed']);
    const reread = uiToEditor(saved, defs).graph;
    expect(node(reread, '12').converted).toEqual(['seed']);
  });

  it('writes the upload slot of LoadImage like ComfyUI', () => {
    const { graph } = uiToEditor(
      { nodes: [{ id: 1, type: 'LoadImage', pos: [0, 0], widgets_values: ['cat.png', 'image'] }], links: [], version: 0.4 },
      defs,
    );
    expect(node(graph, '1').widgets).toEqual({ image: 'cat.png' });
    expect(editorToUi(graph, defs).nodes[0].widgets_values).toEqual(['cat.png', 'image']);
  });
});

describe('API prompt → editor', () => {
  it('opens an API-format prompt so that it converts back to the same prompt', () => {
    const { graph, warnings } = apiToEditor(structuredClone(apiFixture), defs);
    expect(warnings).toEqual([]);
    expect(editorToPrompt(graph, defs)).toEqual(apiFixture);
    expect(node(graph, '3').controls.seed).toBe('fixed');
  });

  it('refuses documents that are neither format', () => {
    expect(() => apiToEditor([], defs)).toThrow('expected a UI workflow or an API-format prompt');
    expect(() => apiToEditor({ a: { inputs: {} } }, defs)).toThrow('node "a": missing "class_type"');
  });
});
