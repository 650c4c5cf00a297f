/** control_after_generate: how seed-like widgets change after each queued run. */
import type { NodeDefs } from './nodeDefs';
import type { EditorNode } from './types';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** ComfyUI's editor keeps random widget values within ±2^50 (exact in a double, whatever the widget's range). */
const RANDOM_LIMIT = 1125899906842624;

/** The next value of one controlled widget. `random` returns a number in [0, 1). */
export function nextControlledValue(
  value: unknown,
  control: string,
  options: Record<string, unknown>,
  random: () => number = Math.random,
): unknown {
  if (typeof value !== 'number' || control === 'fixed') return value;
  const min = typeof options.min === 'number' ? options.min : 0;
  const max = Math.min(typeof options.max === 'number' ? options.max : MAX_SAFE, MAX_SAFE);
  const step = typeof options.step === 'number' && options.step > 0 && options.step !== 10 ? options.step : 1;
  switch (control) {
    case 'increment':
      return value + step > max ? min : value + step;
    case 'decrement':
      return value - step < min ? max : value - step;
    case 'randomize': {
      // As ComfyUI's editor: uniform in [low, high) after clamping both ends to ±2^50.
      const low = Math.max(min, -RANDOM_LIMIT);
      const high = Math.min(max, RANDOM_LIMIT);
      if (high <= low) return low;
      return low + Math.floor(random() * (high - low));
    }
    default:
      return value;
  }
}

/** Returns the nodes with controlled widgets advanced (the others unchanged, same objects). */
export function applyControlAfterGenerate(nodes: EditorNode[], defs: NodeDefs, random?: () => number): EditorNode[] {
  return nodes.map((node) => {
    const def = defs[node.type];
    if (!def || node.raw || Object.keys(node.controls).length === 0) return node;
    let widgets = node.widgets;
    for (const [name, control] of Object.entries(node.controls)) {
      if (node.converted.includes(name)) continue;
      const input = def.inputs.find((i) => i.name === name);
      if (!input) continue;
      let next: unknown;
      if (input.type === 'COMBO' && input.choices?.length) {
        next = nextComboValue(widgets[name], control, input.choices, random);
      } else {
        next = nextControlledValue(widgets[name], control, input.options, random);
      }
      if (next !== widgets[name]) widgets = { ...widgets, [name]: next };
    }
    return widgets === node.widgets ? node : { ...node, widgets };
  });
}

function nextComboValue(value: unknown, control: string, choices: unknown[], random: () => number = Math.random): unknown {
  const i = Math.max(0, choices.indexOf(value));
  switch (control) {
    case 'increment':
      return choices[(i + 1) % choices.length];
    case 'decrement':
      return choices[(i - 1 + choices.length) % choices.length];
    case 'randomize':
      return choices[Math.floor(random() * choices.length)];
    default:
      return value;
  }
}
