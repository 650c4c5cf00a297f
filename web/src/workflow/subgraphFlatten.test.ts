/**
 * Subgraph flattening against the server's answer: every case of __fixtures__/subgraph_parity.json
 * holds a UI workflow and the API prompt; tests/graph/test_subgraph_parity.py checks that
 * graph/ui_to_api.py gives the same prompt for the same workflow.
 */
import { describe, expect, it } from 'vitest';
import parity from './__fixtures__/subgraph_parity.json';
import nestedApi from '../../../tests/graph/fixtures/nested_subgraph_api.json';
import nestedUi from '../../../tests/graph/fixtures/nested_subgraph_ui.json';
import { uiToEditor } from './fromUi';
import { parseObjectInfo } from './nodeDefs';
import { flattenForChecks, flattenSubgraphs, hasSubgraphInstances, subgraphDefinitions } from './subgraphFlatten';
import { findMissing } from './missing';
import { editorToPrompt } from './toPrompt';
import { defs as baseDefs } from './testUtil';
import type { ObjectInfo } from '../api/types';
import type { NodeDefs } from './nodeDefs';

const extra = parseObjectInfo({
  LatentUpscaleBy: {
    input: {
      required: {
        samples: ['LATENT', {}],
        upscale_method: [['nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp'], {}],
        scale_by: ['FLOAT', { default: 1.5, min: 0.01, max: 8, step: 0.01 }],
      },
    },
    input_order: { required: ['samples', 'upscale_method', 'scale_by'] },
    output: ['LATENT'],
    output_is_list: [false],
    output_name: ['LATENT'],
    name: 'LatentUpscaleBy',
    display_name: 'Upscale Latent By',
    description: '',
    python_module: 'nodes',
    category: 'latent',
    output_node: false,
  },
} as unknown as ObjectInfo).defs;
export const subgraphTestDefs: NodeDefs = { ...baseDefs, ...extra };

/** The API prompt the editor queues for a UI workflow. */
export function promptOf(workflow: unknown, defs: NodeDefs = subgraphTestDefs) {
  const { graph } = uiToEditor(structuredClone(workflow), defs);
  return editorToPrompt(flattenSubgraphs(graph, defs), defs);
}

describe('subgraph flattening', () => {
  it('gives the server fixture prompt for the nested subgraph workflow', () => {
    expect(promptOf(nestedUi)).toEqual(nestedApi);
  });

  it('finds nested definitions and instances', () => {
    const { graph } = uiToEditor(structuredClone(nestedUi), subgraphTestDefs);
    expect([...subgraphDefinitions(graph).values()].map((d) => d.name)).toEqual(['Prompt pair', 'Prompts and latent']);
    expect(hasSubgraphInstances(graph)).toBe(true);
    expect(flattenSubgraphs({ ...graph, passthrough: {} }, subgraphTestDefs).nodes).toBe(graph.nodes);
  });

  for (const c of parity.cases) {
    it(`matches graph/ui_to_api.py: ${c.name}`, () => {
      expect(promptOf(c.workflow)).toEqual(c.prompt);
    });
  }

  it('checks the inner nodes for missing types, not the instances', () => {
    const wf = structuredClone(nestedUi) as typeof nestedUi;
    wf.definitions.subgraphs[0].nodes[1].type = 'MissingEncoder';
    const { graph, missingTypes } = uiToEditor(wf, subgraphTestDefs);
    expect(missingTypes).toEqual([]);
    expect(findMissing(flattenForChecks(graph, subgraphTestDefs), subgraphTestDefs).nodeTypes).toEqual(['MissingEncoder']);
  });

  it('refuses a definition that contains itself', () => {
    const wf = structuredClone(nestedUi) as typeof nestedUi;
    const outer = wf.definitions.subgraphs[1];
    outer.nodes[0].type = outer.id;
    expect(() => promptOf(wf)).toThrow(/contains an instance of itself/);
  });
});
