/**
 * Putting a node from a library onto the canvas: dragged (it lands where it is dropped) or
 * clicked (it lands in the middle of the view). A model file's node has that file chosen.
 */
import type { DragEvent } from 'react';
import { graphStore } from '../store/graphStore';
import { viewport } from '../editor/viewport';

/** What a library item carries while dragged. */
export interface PlacedNode {
  nodeType: string;
  /** Widget values to set on the new node (the file of a model loader). */
  widgets?: Record<string, string>;
}

export const DRAG_MIME = 'application/x-latentgraph-node';

/** Adds the node (its widget values set, one undo step) with its top-left corner at the canvas point `at`; returns its id. */
export function placeNode(item: PlacedNode, at: { x: number; y: number }): string | null {
  return graphStore.addNode(item.nodeType, at, undefined, item.widgets);
}

/** Adds the node near the middle of the visible canvas. */
export function placeAtViewCentre(item: PlacedNode): string | null {
  const rect = document.querySelector('.lg-canvas')?.getBoundingClientRect();
  if (!rect || !viewport.api) return placeNode(item, { x: 0, y: 0 });
  const centre = viewport.api.toFlow({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 });
  // A new node is about 300 × 150: centre it rather than hang it from the middle.
  return placeNode(item, { x: centre.x - 150, y: centre.y - 75 });
}

export function startDrag(e: DragEvent, item: PlacedNode): void {
  e.dataTransfer.setData(DRAG_MIME, JSON.stringify(item));
  e.dataTransfer.effectAllowed = 'copy';
}

/** Handles a drop of a library item on the canvas; false when the drop carried something else. */
export function dropOnCanvas(e: DragEvent): boolean {
  const text = e.dataTransfer.getData(DRAG_MIME);
  if (!text || !viewport.api || !(e.target as Element).closest?.('.lg-canvas')) return false;
  let item: PlacedNode;
  try {
    item = JSON.parse(text) as PlacedNode;
  } catch {
    return false;
  }
  if (typeof item?.nodeType !== 'string') return false;
  e.preventDefault();
  placeNode(item, viewport.api.toFlow({ x: e.clientX, y: e.clientY }));
  return true;
}
