/**
 * What the app view shows, worked out from the graph: each chosen field with its label
 * ("node title › widget"), node and widget definition (or why it cannot be edited), the widgets a
 * node offers to the app view, and the latest output images of the workflow's output nodes.
 */
import type { UiOutput } from '../api/types';
import { outputImages, type ImageRefLike } from '../workflow/gallery';
import type { InputDef, NodeDefs } from '../workflow/nodeDefs';
import type { EditorNode } from '../workflow/types';
import type { AppField } from './linearData';

export interface FormField extends AppField {
  /** Position in the stored list (for remove and move). */
  index: number;
  label: string;
  node?: EditorNode;
  input?: InputDef;
  /** Set when the field cannot be edited: the node is gone, the widget unknown or made an input. */
  problem?: string;
}

/** The widgets of `node` that can be put in the app view (not those turned into input sockets). */
export function appWidgetChoices(node: EditorNode, defs: NodeDefs): InputDef[] {
  const def = node.raw ? undefined : defs[node.type];
  return (def?.inputs ?? []).filter((i) => i.isWidget && !node.converted.includes(i.name));
}

export function nodeLabel(node: EditorNode): string {
  return node.title || node.type;
}

/** The chosen fields resolved against the graph's nodes, in their stored order. */
export function formFields(fields: AppField[], nodes: EditorNode[], defs: NodeDefs): FormField[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return fields.map((f, index) => {
    const node = byId.get(f.nodeId);
    if (!node) return { ...f, index, label: `#${f.nodeId} › ${f.widget}`, problem: 'node not in the workflow' };
    const label = `${nodeLabel(node)} › ${f.widget}`;
    if (node.converted.includes(f.widget)) return { ...f, index, label, node, problem: 'turned into an input socket' };
    const input = appWidgetChoices(node, defs).find((i) => i.name === f.widget);
    if (!input) return { ...f, index, label, node, problem: 'no such widget' };
    return { ...f, index, label, node, input };
  });
}

/** The node id of the workflow's root level that a run id belongs to ("10:9" inside instance 10). */
function rootId(runId: string): string {
  return runId.split(':')[0];
}

/**
 * The latest images of the workflow's output nodes, in node order: those of `chosen` when the
 * workflow names its outputs, else of every node (only output nodes report images).
 */
export function appOutputImages(outputs: Record<string, UiOutput>, nodes: EditorNode[], chosen: string[]): ImageRefLike[] {
  const wanted = chosen.length ? new Set(chosen) : new Set(nodes.map((n) => n.id));
  const order = new Map(nodes.map((n, i) => [n.id, i]));
  return Object.entries(outputs)
    .filter(([id]) => wanted.has(rootId(id)) && order.has(rootId(id)))
    .sort(([a], [b]) => order.get(rootId(a))! - order.get(rootId(b))!)
    .flatMap(([, output]) => outputImages(output));
}
