"""Save nodes for models (ComfyUI's CheckpointSave, CLIPSave, VAESave, ModelSave).

Files go to the output folder with ComfyUI's counter naming (`checkpoints/ComfyUI_00001_.safetensors`).
Weights are written as the handles run them (merges and LoRAs applied), in the original
single-file layouts, so CheckpointLoaderSimple, CLIPLoader/DualCLIPLoader, VAELoader and
UNETLoader load them again. Metadata is ComfyUI's: the prompt and the workflow as JSON
(left out under --disable-metadata) and, for checkpoints, the modelspec entries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nodes.api.declare import Out, Socket, String
from nodes.api.lazy import lazy_import
from nodes.api.runtime import runtime_of
from nodes.library.output_files import SavesNamedFiles

saving = lazy_import("diffusion.checkpoints.save_checkpoint")

CATEGORY = "advanced/model_merging"
HIDDEN = ("PROMPT", "EXTRA_PNGINFO")
OUTPUTS: list[Out] = []


def _target(ctx: Any, node: str, prefix: str) -> tuple[Path, str]:
    """The next free `<prefix>_NNNNN_.safetensors` in the output folder and its title ("ComfyUI 1")."""
    folders = runtime_of(ctx, node).folders
    try:
        path, _subfolder, filename = folders.next_output_path(prefix, "safetensors")
    except ValueError as exc:
        raise ValueError(f"{node}: input 'filename_prefix': {exc}") from None
    stem, counter = filename.removesuffix("_.safetensors").rsplit("_", 1)
    return path, f"{stem} {int(counter)}"


def _prompt_metadata(ctx: Any, prompt: Any, extra_pnginfo: Any) -> dict[str, str]:
    if ctx.runtime is not None and ctx.runtime.disable_metadata:
        return {}
    return saving.prompt_metadata(prompt, extra_pnginfo)


def save_model_file(ctx: Any, node: str, prefix: str, model: Any, clip: Any, vae: Any, prompt: Any,
                    extra_pnginfo: Any) -> Path:
    """Write a checkpoint (or, without clip and vae, a bare diffusion model file) as ComfyUI's save_checkpoint."""
    path, title = _target(ctx, node, prefix)
    try:
        tensors = saving.checkpoint_tensors(model, clip, vae)
    except saving.SaveError as exc:
        raise ValueError(f"{node}: {exc}") from None
    metadata, extra = saving.model_metadata(model, title)
    metadata.update(_prompt_metadata(ctx, prompt, extra_pnginfo))
    return saving.write_tensors(path, {**tensors, **extra}, metadata)


class CheckpointSave(SavesNamedFiles):
    node_id = "CheckpointSave"
    display_name = "Save Checkpoint"
    category = CATEGORY
    description = "Saves the model, CLIP and VAE as one .safetensors checkpoint in the original SD layout."
    output_node = True
    hidden = HIDDEN
    inputs = [Socket("MODEL", "model"), Socket("CLIP", "clip"), Socket("VAE", "vae"),
              String("filename_prefix", default="checkpoints/ComfyUI")]
    outputs = OUTPUTS

    @classmethod
    def run(cls, ctx: Any, *, model: Any, clip: Any, vae: Any, filename_prefix: str, prompt: Any = None,
            extra_pnginfo: Any = None) -> dict:
        save_model_file(ctx, cls.node_id, filename_prefix, model, clip, vae, prompt, extra_pnginfo)
        return {}


class ModelSave(SavesNamedFiles):
    node_id = "ModelSave"
    category = CATEGORY
    description = ("Saves the diffusion model alone, under the checkpoint's 'model.diffusion_model.' keys "
                   "(load it with UNETLoader).")
    output_node = True
    hidden = HIDDEN
    inputs = [Socket("MODEL", "model"), String("filename_prefix", default="diffusion_models/ComfyUI")]
    outputs = OUTPUTS

    @classmethod
    def run(cls, ctx: Any, *, model: Any, filename_prefix: str, prompt: Any = None, extra_pnginfo: Any = None) -> dict:
        save_model_file(ctx, cls.node_id, filename_prefix, model, None, None, prompt, extra_pnginfo)
        return {}


class CLIPSave(SavesNamedFiles):
    node_id = "CLIPSave"
    category = CATEGORY
    description = ("Saves each text encoder to its own file, `<prefix>_clip_l_00001_.safetensors` (and clip_g, "
                   "clip_h), in the Hugging Face layout (load them with CLIPLoader or DualCLIPLoader).")
    output_node = True
    hidden = HIDDEN
    inputs = [Socket("CLIP", "clip"), String("filename_prefix", default="clip/ComfyUI")]
    outputs = OUTPUTS

    @classmethod
    def run(cls, ctx: Any, *, clip: Any, filename_prefix: str, prompt: Any = None, extra_pnginfo: Any = None) -> dict:
        metadata = _prompt_metadata(ctx, prompt, extra_pnginfo)
        per_encoder = saving.text_encoder_tensors(clip)
        for name in sorted(per_encoder, key="lgh".index):
            path, _title = _target(ctx, cls.node_id, f"{filename_prefix}_clip_{name}")
            saving.write_tensors(path, per_encoder[name], metadata)
        return {}


class VAESave(SavesNamedFiles):
    node_id = "VAESave"
    category = CATEGORY
    description = "Saves the VAE in the original layout without a prefix (load it with VAELoader)."
    output_node = True
    hidden = HIDDEN
    inputs = [Socket("VAE", "vae"), String("filename_prefix", default="vae/ComfyUI_vae")]
    outputs = OUTPUTS

    @classmethod
    def run(cls, ctx: Any, *, vae: Any, filename_prefix: str, prompt: Any = None, extra_pnginfo: Any = None) -> dict:
        path, _title = _target(ctx, cls.node_id, filename_prefix)
        saving.write_tensors(path, saving.vae_tensors(vae, prefix=""), _prompt_metadata(ctx, prompt, extra_pnginfo))
        return {}


NODES = [CheckpointSave, CLIPSave, VAESave, ModelSave]
