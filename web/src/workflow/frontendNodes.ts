/**
 * Node types that exist only in the editor (as in ComfyUI's frontend): a Note holds text, a
 * Reroute passes one link through. They are never sent to the server (see toPrompt.ts).
 */
import type { InputDef, NodeDefs } from './nodeDefs';
import type { EditorNode } from './types';

const anyInput: InputDef = { name: '', type: '*', required: true, options: {}, isWidget: false, control: false, upload: false };

export const FRONTEND_DEFS: NodeDefs = {
  Note: {
    name: 'Note',
    displayName: 'Note',
    category: 'utils',
    description: 'A text note (not executed)',
    inputs: [],
    outputs: [],
    outputNode: false,
  },
  Reroute: {
    name: 'Reroute',
    displayName: 'Reroute',
    category: 'utils',
    description: 'Passes one link through (not executed)',
    inputs: [anyInput],
    outputs: [{ name: '', type: '*', isList: false }],
    outputNode: false,
  },
};

/** A new frontend-only node, kept raw like the ones read from files. */
export function makeFrontendNode(type: string, id: string, pos: [number, number]): EditorNode | null {
  const base = { id, type, title: type, pos, mode: 0, widgets: {}, controls: {}, converted: [], properties: {} };
  if (type === 'Note') {
    return {
      ...base,
      size: [400, 200],
      color: '#432',
      bgcolor: '#653',
      properties: { text: '' },
      raw: { inputs: [], outputs: [], widgets_values: [''] },
    };
  }
  if (type === 'Reroute') {
    return {
      ...base,
      properties: { showOutputText: false, horizontal: false },
      raw: { inputs: [{ name: '', type: '*' }], outputs: [{ name: '', type: '*' }], widgets_values: [] },
    };
  }
  return null;
}

/** Definitions offered by the add-node search: the server's plus the frontend-only ones. */
export function searchableDefs(defs: NodeDefs): NodeDefs {
  return { ...FRONTEND_DEFS, ...defs };
}
