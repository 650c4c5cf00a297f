/**
 * Which node loads a file of a model folder, and into which input, as ComfyUI's model library
 * does it (Comfy-Org/ComfyUI_frontend src/stores/modelToNodeStore.ts): the first node of a
 * folder's list that is installed wins. Pure: the caller passes the node definitions.
 */
import type { NodeDefs } from '../workflow/nodeDefs';

export interface ModelLoader {
  nodeType: string;
  /** The combo input that takes the file name. */
  input: string;
}

/** Folder key → loaders, preferred first. Folders not listed (embeddings, vae_approx, configs…) have none. */
export const MODEL_LOADERS: Record<string, ModelLoader[]> = {
  checkpoints: [
    { nodeType: 'CheckpointLoaderSimple', input: 'ckpt_name' },
    { nodeType: 'ImageOnlyCheckpointLoader', input: 'ckpt_name' },
  ],
  loras: [
    { nodeType: 'LoraLoader', input: 'lora_name' },
    { nodeType: 'LoraLoaderModelOnly', input: 'lora_name' },
  ],
  vae: [{ nodeType: 'VAELoader', input: 'vae_name' }],
  controlnet: [{ nodeType: 'ControlNetLoader', input: 'control_net_name' }],
  upscale_models: [{ nodeType: 'UpscaleModelLoader', input: 'model_name' }],
  clip_vision: [{ nodeType: 'CLIPVisionLoader', input: 'clip_name' }],
  style_models: [{ nodeType: 'StyleModelLoader', input: 'style_model_name' }],
  gligen: [{ nodeType: 'GLIGENLoader', input: 'gligen_name' }],
  hypernetworks: [{ nodeType: 'HypernetworkLoader', input: 'hypernetwork_name' }],
  diffusion_models: [{ nodeType: 'UNETLoader', input: 'unet_name' }],
  unet: [{ nodeType: 'UNETLoader', input: 'unet_name' }],
  // "clip" is the older name of the text encoder folder (folder_paths maps both to text_encoders).
  text_encoders: [{ nodeType: 'CLIPLoader', input: 'clip_name' }],
  clip: [{ nodeType: 'CLIPLoader', input: 'clip_name' }],
  latent_upscale_models: [{ nodeType: 'LatentUpscaleModelLoader', input: 'model_name' }],
  model_patches: [{ nodeType: 'ModelPatchLoader', input: 'name' }],
  audio_encoders: [{ nodeType: 'AudioEncoderLoader', input: 'audio_encoder_name' }],
};

/**
 * The loader for a file of `folder` among the installed `defs`, or null. A folder's sub-path
 * ("checkpoints/sdxl") falls back to its parent, as in ComfyUI.
 */
export function loaderFor(folder: string, defs: NodeDefs): ModelLoader | null {
  const parts = folder.split('/');
  for (let n = parts.length; n >= 1; n--) {
    const candidates = MODEL_LOADERS[parts.slice(0, n).join('/')] ?? [];
    const installed = candidates.find((c) => defs[c.nodeType]?.inputs.some((i) => i.name === c.input));
    if (installed) return installed;
  }
  return null;
}
