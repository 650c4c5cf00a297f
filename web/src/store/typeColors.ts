/** Socket and link colours by type name (ComfyUI's palette for the common ones). */
const COLORS: Record<string, string> = {
  MODEL: '#b39ddb',
  CLIP: '#ffd500',
  VAE: '#ff6e6e',
  CONDITIONING: '#ffa931',
  LATENT: '#ff9cf9',
  IMAGE: '#64b5f6',
  MASK: '#81c784',
  CONTROL_NET: '#00d78d',
  INT: '#7ec8a0',
  FLOAT: '#a1c880',
  STRING: '#c8c880',
  BOOLEAN: '#c88080',
  COMBO: '#8099c8',
  '*': '#aaaaaa',
};

/** A stable colour for any type name. */
export function typeColor(type: string): string {
  if (COLORS[type]) return COLORS[type];
  let hash = 0;
  for (const ch of type) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return `hsl(${Math.abs(hash) % 360} 55% 62%)`;
}
