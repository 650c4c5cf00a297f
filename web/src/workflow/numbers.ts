/** Number widget values: clamped to min/max and rounded as the input declares. */
import type { InputDef } from './nodeDefs';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function decimals(step: number): number {
  const s = String(step);
  return s.includes('.') ? s.length - s.indexOf('.') - 1 : 0;
}

/** Clamps to [min, max] (within JavaScript's safe integers); INT rounds to whole numbers, FLOAT to `round` (or `step`). */
export function normalizeNumber(value: number, input: InputDef): number {
  const o = input.options;
  const min = typeof o.min === 'number' ? Math.max(o.min, -MAX_SAFE) : -MAX_SAFE;
  const max = typeof o.max === 'number' ? Math.min(o.max, MAX_SAFE) : MAX_SAFE;
  const v = Math.min(max, Math.max(min, value));
  if (input.type === 'INT') return Math.round(v);
  const round = typeof o.round === 'number' && o.round > 0 ? o.round : typeof o.step === 'number' && o.step > 0 ? o.step : 0.01;
  return Number((Math.round(v / round) * round).toFixed(decimals(round)));
}
