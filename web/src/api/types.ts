/** Shapes of the ComfyUI-compatible HTTP/WS API the editor talks to (see comfyui-interfaces.md 1, 2, 6). */

/** One input declaration from /object_info: `[type | choices, options?]`. */
export type InputSpecJson = [string | unknown[], Record<string, unknown>?] | [string | unknown[]];

export interface NodeInfo {
  input: {
    required?: Record<string, InputSpecJson>;
    optional?: Record<string, InputSpecJson>;
    hidden?: Record<string, unknown>;
  };
  input_order?: { required?: string[]; optional?: string[]; hidden?: string[] };
  output: (string | unknown[])[];
  output_is_list?: boolean[];
  output_name?: string[];
  name: string;
  display_name?: string | null;
  description?: string;
  category?: string;
  output_node?: boolean;
  deprecated?: boolean;
  experimental?: boolean;
}

export type ObjectInfo = Record<string, NodeInfo>;

/** One error from validation (`node_errors[id].errors[]`). */
export interface ValidationError {
  type: string;
  message: string;
  details: string;
  extra_info?: { input_name?: string; [key: string]: unknown };
}

export interface NodeErrorEntry {
  errors: ValidationError[];
  dependent_outputs?: string[];
  class_type?: string;
}

export type NodeErrors = Record<string, NodeErrorEntry>;

/** An API-format prompt: `{id: {class_type, inputs, _meta}}`. */
export type ApiPrompt = Record<string, ApiNode>;
export interface ApiNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title: string };
}

/** The `move` body of POST /queue (ours): to the front or back, or just before another pending prompt. */
export type QueueMove = { prompt_id: string; to: 'front' | 'back' } | { prompt_id: string; before: string };

/** `[number, prompt_id, prompt, extra_data, outputs_to_execute]` */
export type QueueItem = [number, string, ApiPrompt, Record<string, unknown>, string[], ...unknown[]];

export interface QueueState {
  queue_running: QueueItem[];
  queue_pending: QueueItem[];
}

export interface ImageRef {
  filename: string;
  subfolder?: string;
  type?: string;
}

export type UiOutput = Record<string, unknown[]>;

export interface HistoryEntry {
  prompt: QueueItem;
  outputs: Record<string, UiOutput>;
  status?: { status_str?: string; completed?: boolean; messages?: [string, Record<string, unknown>][] };
}

export type History = Record<string, HistoryEntry>;

export interface PlanResult {
  run: string[];
  cached: string[];
}
