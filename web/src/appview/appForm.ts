/**
 * What the app view shows, worked out from the graph: each chosen field with its label
 * ("node title › widget"), node and widget definition (or why it cannot be edited), the widgets a
 * node offers to the app view, and the app view's outputs: the chosen output nodes (or every one
 * when none is chosen), each with its title and latest images from runs queued from this tab.
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

/** True when `node` is an output node (its definition's `output_node`: SaveImage, PreviewImage...). */
export function isOutputNode(node: EditorNode, defs: NodeDefs): boolean {
  return !node.raw && defs[node.type]?.outputNode === true;
}

/** One output of the app view: a node's title and latest images. */
export interface AppOutput {
  nodeId: string;
  title: string;
  images: ImageRefLike[];
  /** Named in the workflow's outputs (so it can be taken out again). */
  chosen: boolean;
  /** Named, but the node is no longer in the workflow. */
  missing: boolean;
}

/**
 * The app view's outputs with the images of the latest run: the nodes of `chosen` in that order
 * (listed even before they have images, or when their node is gone), else every node with
 * images, in node order (only output nodes report images). A subgraph instance's images are those
 * of its inner nodes ("10:9" inside instance 10).
 */
export function appOutputs(outputs: Record<string, UiOutput>, nodes: EditorNode[], chosen: string[]): AppOutput[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const imagesOf = (id: string) =>
    Object.entries(outputs)
      .filter(([runId]) => rootId(runId) === id)
      .flatMap(([, output]) => outputImages(output));
  const output = (id: string, isChosen: boolean): AppOutput => {
    const node = byId.get(id);
    return { nodeId: id, title: node ? nodeLabel(node) : `#${id}`, images: node ? imagesOf(id) : [], chosen: isChosen, missing: !node };
  };
  if (chosen.length) return [...new Set(chosen)].map((id) => output(id, true));
  return nodes.map((n) => output(n.id, false)).filter((o) => o.images.length > 0);
}

/**
 * The outputs of runs queued from tab `tabId` only: an output whose run was queued from another tab
 * (its nodes may have the same ids), or that no known run of this page reported, is left out.
 */
export function outputsQueuedFrom(
  outputs: Record<string, UiOutput>,
  tabId: number,
  promptOf: (output: UiOutput) => string | undefined,
  queuedFrom: Record<string, number>,
): Record<string, UiOutput> {
  return Object.fromEntries(
    Object.entries(outputs).filter(([, output]) => {
      const prompt = promptOf(output);
      return prompt !== undefined && queuedFrom[prompt] === tabId;
    }),
  );
}

/** Every image the app view shows, in its order. */
export function appOutputImages(outputs: Record<string, UiOutput>, nodes: EditorNode[], chosen: string[]): ImageRefLike[] {
  return appOutputs(outputs, nodes, chosen).flatMap((o) => o.images);
}
