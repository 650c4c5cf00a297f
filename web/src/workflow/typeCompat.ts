/**
 * Socket type compatibility — the same rule as the server's validation:
 * equal names, either side "*", or comma-separated type sets that overlap.
 */
function typeSet(type: string): string[] {
  return type
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

export function typesCompatible(outputType: string, inputType: string): boolean {
  if (outputType === inputType) return true;
  if (outputType === '*' || inputType === '*') return true;
  const inputs = new Set(typeSet(inputType));
  return typeSet(outputType).some((t) => t === '*' || inputs.has(t) || inputs.has('*'));
}
