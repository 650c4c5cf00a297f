/**
 * What the server is doing, from WebSocket events: executing node, progress, previews,
 * outputs, validation errors and the plan overlay. Not part of the workflow, never undone.
 */
import type { BinaryFrame } from '../api/socket';
import type { NodeErrors, PlanResult, UiOutput } from '../api/types';
import { Store } from './store';

export interface Progress {
  value: number;
  max: number;
  node: string | null;
}

export interface RunState {
  clientId: string;
  connected: boolean;
  queueRemaining: number;
  runningPromptId: string | null;
  executing: string | null;
  progress: Progress | null;
  /** Latest latent preview (object URL) per node. */
  previews: Record<string, string>;
  /** The `ui` output of each node from `executed` events. */
  outputs: Record<string, UiOutput>;
  /** Nodes of the current/last run: "cached" or "done". */
  nodeStates: Record<string, 'cached' | 'done'>;
  nodeErrors: NodeErrors;
  /** A node that raised while executing. */
  executionError: { nodeId: string; message: string } | null;
  plan: PlanResult | null;
  message: { text: string; kind: 'info' | 'error' } | null;
  /** Increases on each queue change: the queue panel reloads then. */
  queueVersion: number;
  /** The editor tab each prompt this page queued came from (prompt id -> tab id). */
  queuedFrom: Record<string, number>;
}

/** How long a message line stays before it dismisses itself. */
export const MESSAGE_MS = { info: 5000, error: 12000 };

function newClientId(): string {
  const c = globalThis.crypto;
  return c && 'randomUUID' in c ? c.randomUUID().replace(/-/g, '') : Math.random().toString(16).slice(2);
}

export class RunStore extends Store<RunState> {
  constructor() {
    super({
      clientId: newClientId(),
      connected: false,
      queueRemaining: 0,
      runningPromptId: null,
      executing: null,
      progress: null,
      previews: {},
      outputs: {},
      nodeStates: {},
      nodeErrors: {},
      executionError: null,
      plan: null,
      message: null,
      queueVersion: 0,
      queuedFrom: {},
    });
  }

  /** The prompt each `executed` output came from (kept beside the outputs, which tabs park and restore). */
  private outputPrompts = new WeakMap<UiOutput, string>();

  /** The prompt id of the run that reported `output`, when its `executed` event named one. */
  promptOfOutput = (output: UiOutput): string | undefined => this.outputPrompts.get(output);

  /** Prompt `promptId` was queued from tab `tabId`. */
  recordQueued(promptId: string, tabId: number): void {
    this.set({ queuedFrom: { ...this.get().queuedFrom, [promptId]: tabId } });
  }

  private messageTimer: ReturnType<typeof setTimeout> | undefined;

  /** Shows a message line that dismisses itself (info after 5 s, errors after 12 s; the × closes it sooner). */
  notify(text: string, kind: 'info' | 'error' = 'info'): void {
    const message = { text, kind };
    this.set({ message });
    clearTimeout(this.messageTimer);
    this.messageTimer = setTimeout(
      () => {
        if (this.get().message === message) this.set({ message: null });
      },
      kind === 'error' ? MESSAGE_MS.error : MESSAGE_MS.info,
    );
  }

  private clearPreviews(): Record<string, string> {
    for (const url of Object.values(this.get().previews)) URL.revokeObjectURL(url);
    return {};
  }

  /** Applies one JSON WebSocket event. */
  handleEvent = (type: string, data: Record<string, unknown>): void => {
    const s = this.get();
    const node = (data.display_node ?? data.node ?? data.node_id) as string | null | undefined;
    switch (type) {
      case 'status': {
        const remaining = (data.status as { exec_info?: { queue_remaining?: number } })?.exec_info?.queue_remaining;
        this.set({ queueRemaining: typeof remaining === 'number' ? remaining : s.queueRemaining, queueVersion: s.queueVersion + 1 });
        break;
      }
      case 'execution_start':
        this.set({ runningPromptId: String(data.prompt_id ?? ''), nodeStates: {}, executionError: null, progress: null });
        break;
      case 'execution_cached': {
        const states = { ...s.nodeStates };
        for (const id of (data.nodes as string[]) ?? []) states[String(id)] = 'cached';
        this.set({ nodeStates: states });
        break;
      }
      case 'executing':
        if (node === null || node === undefined) {
          this.set({
            executing: null,
            progress: null,
            runningPromptId: null,
            plan: null,
            previews: this.clearPreviews(),
            queueVersion: s.queueVersion + 1,
          });
        } else {
          const states = { ...s.nodeStates };
          if (s.executing && states[s.executing] !== 'cached') states[s.executing] = 'done';
          this.set({ executing: String(node), progress: null, nodeStates: states });
        }
        break;
      case 'progress':
        this.set({ progress: { value: Number(data.value), max: Number(data.max), node: node ? String(node) : s.executing } });
        break;
      case 'executed':
        if (node !== null && node !== undefined && data.output) {
          if (data.prompt_id !== undefined && typeof data.output === 'object') {
            this.outputPrompts.set(data.output as UiOutput, String(data.prompt_id));
          }
          this.set({
            outputs: { ...s.outputs, [String(node)]: data.output as UiOutput },
            nodeStates: { ...s.nodeStates, [String(node)]: 'done' },
          });
        }
        break;
      case 'execution_error': {
        const id = String(data.node_id ?? '');
        const text = `${data.exception_type ?? 'Error'}: ${data.exception_message ?? ''}`.trim();
        this.set({
          executionError: { nodeId: id, message: text },
          message: { text: `Node ${id} (${data.node_type ?? '?'}) failed — ${text}`, kind: 'error' },
        });
        break;
      }
      case 'execution_interrupted':
        this.set({ message: { text: 'Run interrupted', kind: 'info' } });
        break;
      default:
        break;
    }
  };

  /** Applies one binary frame: previews go on the node that sent them (or the executing one). */
  handleBinary = (frame: BinaryFrame): void => {
    if (frame.kind !== 'preview') return;
    const id = frame.nodeId ?? this.get().executing;
    if (!id) return;
    const copy = new Uint8Array(frame.image);
    const url = URL.createObjectURL(new Blob([copy.buffer as ArrayBuffer], { type: frame.mime }));
    const previews = { ...this.get().previews };
    if (previews[id]) URL.revokeObjectURL(previews[id]);
    previews[id] = url;
    this.set({ previews });
  };
}

export const runStore = new RunStore();
