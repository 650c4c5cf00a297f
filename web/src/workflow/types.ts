/**
 * Types of the two sides the converters translate between:
 * ComfyUI's UI workflow JSON (litegraph serialization, 0.4 and version 1) and the editor's graph.
 */

/** `[link_id, origin_node_id, origin_slot, target_node_id, target_slot, type]` */
export type UiLinkArray = [number, number | string, number, number | string, number, string];

/** Version 1 link object. */
export interface UiLinkObject {
  id: number;
  origin_id: number | string;
  origin_slot: number;
  target_id: number | string;
  target_slot: number;
  type: string;
  parentId?: number;
}

export interface UiInputSlot {
  name: string;
  type: string;
  link: number | null;
  widget?: { name: string };
  label?: string;
  localized_name?: string;
  slot_index?: number;
  shape?: number;
}

export interface UiOutputSlot {
  name: string;
  type: string;
  links: number[] | null;
  slot_index?: number;
  widget?: { name: string };
  label?: string;
  localized_name?: string;
  shape?: number;
}

export interface UiNode {
  id: number | string;
  type: string;
  pos: [number, number] | { 0: number; 1: number };
  size?: [number, number] | { 0: number; 1: number };
  flags?: Record<string, unknown>;
  order?: number;
  mode?: number;
  inputs?: UiInputSlot[];
  outputs?: UiOutputSlot[];
  title?: string;
  properties?: Record<string, unknown>;
  widgets_values?: unknown[] | Record<string, unknown>;
  color?: string;
  bgcolor?: string;
}

export interface UiGroup {
  id?: number;
  title: string;
  bounding: [number, number, number, number];
  color?: string;
  font_size?: number;
  flags?: Record<string, unknown>;
}

export interface UiWorkflow {
  id?: string;
  revision?: number;
  last_node_id?: number;
  last_link_id?: number;
  state?: { lastNodeId?: number; lastLinkId?: number; lastGroupId?: number; lastRerouteId?: number };
  nodes: UiNode[];
  links: (UiLinkArray | UiLinkObject)[];
  groups?: UiGroup[];
  config?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  version: number;
  [key: string]: unknown;
}

/** Node modes (LiteGraph LGraphEventMode). */
export const MODE_NEVER = 2; // "muted"
export const MODE_BYPASS = 4;

/** One node in the editor. Widget values are keyed by input name. */
export interface EditorNode {
  id: string;
  type: string;
  title: string;
  pos: [number, number];
  size?: [number, number];
  mode: number;
  /** Widget values by widget (input) name. */
  widgets: Record<string, unknown>;
  /** control_after_generate value by the name of the widget it controls. */
  controls: Record<string, string>;
  /** Names of widgets turned into input sockets. */
  converted: string[];
  properties: Record<string, unknown>;
  flags?: Record<string, unknown>;
  color?: string;
  bgcolor?: string;
  /**
   * Slots and values as read from a file, kept for nodes that object_info does not
   * describe (virtual frontend nodes such as Reroute, PrimitiveNode and notes, or missing types).
   */
  raw?: {
    inputs: { name: string; type: string; widget?: { name: string } }[];
    outputs: { name: string; type: string; widget?: { name: string } }[];
    widgets_values: unknown[] | Record<string, unknown>;
  };
}

/** A link from an output slot to a named input ("#<index>" for nodes kept raw). */
export interface EditorLink {
  id: number;
  source: string;
  sourceSlot: number;
  target: string;
  targetInput: string;
  type: string;
}

export interface EditorGroup {
  id: number;
  title: string;
  bounding: [number, number, number, number];
  color?: string;
  font_size?: number;
}

export interface EditorGraph {
  nodes: EditorNode[];
  links: EditorLink[];
  groups: EditorGroup[];
  lastNodeId: number;
  lastLinkId: number;
  /** The workflow's `extra` (ds, frontendVersion, ...), `id` and `config`, kept for round trips. */
  extra: Record<string, unknown>;
  workflowId?: string;
  config?: Record<string, unknown>;
  /** Other top-level keys of the file (models, definitions, floatingLinks, ...), written back as read. */
  passthrough?: Record<string, unknown>;
}
