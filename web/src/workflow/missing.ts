/**
 * What a loaded workflow needs that this server lacks: node types object_info does not describe, and
 * files named by combo widgets (models, input images) that are not among that combo's options.
 */
import type { NodeDefs } from './nodeDefs';
import { VIRTUAL_TYPES } from './nodeDefs';
import { type EditorGraph, MODE_BYPASS, MODE_NEVER } from './types';

export interface MissingFile {
  nodeId: string;
  nodeTitle: string;
  input: string;
  file: string;
  /** Where the file goes, relative to the server's base directory (e.g. "models/checkpoints"). */
  folder: string;
}

export interface MissingReport {
  nodeTypes: string[];
  files: MissingFile[];
}

/** Model folders by the loader input that names a file in them (ComfyUI's folder names). */
const FOLDER_BY_INPUT: Record<string, string> = {
  ckpt_name: 'models/checkpoints',
  vae_name: 'models/vae',
  lora_name: 'models/loras',
  control_net_name: 'models/controlnet',
  unet_name: 'models/diffusion_models',
  clip_name: 'models/text_encoders',
  clip_name1: 'models/text_encoders',
  clip_name2: 'models/text_encoders',
  clip_name3: 'models/text_encoders',
  model_name: 'models/upscale_models',
  style_model_name: 'models/style_models',
  gligen_name: 'models/gligen',
  hypernetwork_name: 'models/hypernetworks',
  config_name: 'models/configs',
  image: 'input',
};

/** By node type where the input name alone does not say (e.g. CLIPVisionLoader's clip_name). */
const FOLDER_BY_NODE_INPUT: Record<string, string> = {
  'CLIPVisionLoader.clip_name': 'models/clip_vision',
  'UpscaleModelLoader.model_name': 'models/upscale_models',
  'PhotoMakerLoader.photomaker_model_name': 'models/photomaker',
};

const FILE_NAME = /\.(safetensors|sft|ckpt|pt|pth|bin|gguf|onnx|yaml|png|jpe?g|webp)$/i;

export function folderFor(nodeType: string, input: string): string {
  return FOLDER_BY_NODE_INPUT[`${nodeType}.${input}`] ?? FOLDER_BY_INPUT[input] ?? 'models';
}

export function findMissing(graph: EditorGraph, defs: NodeDefs): MissingReport {
  const nodeTypes = new Set<string>();
  const files: MissingFile[] = [];
  for (const node of graph.nodes) {
    const def = defs[node.type];
    if (!def) {
      if (!VIRTUAL_TYPES.has(node.type)) nodeTypes.add(node.type);
      continue;
    }
    if (node.mode === MODE_NEVER || node.mode === MODE_BYPASS) continue; // muted or bypassed: not run, nothing needed
    for (const input of def.inputs) {
      if (input.type !== 'COMBO' || !input.isWidget || node.converted.includes(input.name)) continue;
      const value = node.widgets[input.name];
      if (typeof value !== 'string' || value === '' || (input.choices ?? []).includes(value)) continue;
      const known = input.name in FOLDER_BY_INPUT || `${node.type}.${input.name}` in FOLDER_BY_NODE_INPUT;
      if (!known && !FILE_NAME.test(value)) continue; // a missing option that is not a file
      files.push({ nodeId: node.id, nodeTitle: node.title, input: input.name, file: value, folder: folderFor(node.type, input.name) });
    }
  }
  return { nodeTypes: [...nodeTypes].sort(), files };
}
