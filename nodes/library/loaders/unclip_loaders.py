"""Checkpoints that carry their own CLIP vision model (ComfyUI's unCLIPCheckpointLoader,
ImageOnlyCheckpointLoader and ImageOnlyCheckpointSave).

An SD2.1 unCLIP checkpoint (sd21-unclip-l / -h) holds the image encoder its UNet was trained on
(diffusion/checkpoints/clip_vision_part.py). unCLIPCheckpointLoader gives MODEL, CLIP, VAE and
that CLIP_VISION; ImageOnlyCheckpointLoader gives MODEL, CLIP_VISION and VAE without loading the
text encoder. ComfyUI made the latter for Stable Video Diffusion files: those are video models,
which are not supported, so such a file is refused with an error saying so. A checkpoint without
a CLIP vision model is refused too, naming the loaders to use instead (ComfyUI returns None there).

ImageOnlyCheckpointSave writes the model, the CLIP vision model and the VAE as one checkpoint in
the output folder (`checkpoints/ComfyUI_00001_.safetensors`): the CLIP vision tensors in the
Hugging Face layout under the model's CLIP vision prefix (`embedder.model.visual.` for unCLIP and
for models without one), as ComfyUI's save_checkpoint does, so ImageOnlyCheckpointLoader reads it back.
"""

from __future__ import annotations

from typing import Any

from folders.file_identity import file_identity
from nodes.api.declare import Combo, FileList, Out, Socket, String
from nodes.api.lazy import lazy_import
from nodes.api.runtime import runtime_of
from nodes.library.loaders.model_loaders import ModelFileLoader, _place_vae, embeddings_dirs
from nodes.library.output_files import SavesNamedFiles

checkpoints = lazy_import("diffusion.checkpoints.loader")
model_services = lazy_import("nodes.api.model_services")
saving = lazy_import("diffusion.checkpoints.save_checkpoint")

UNCLIP_PREFIX = "embedder.model.visual."


def _load(ctx: Any, node: str, path, *, with_clip: bool) -> tuple:
    """(model, clip or None, vae, clip_vision) of the checkpoint at `path`, shared through the file cache."""
    services = ctx.runtime.models
    choice = services.choice

    def load() -> tuple:
        loaded = checkpoints.load_checkpoint(
            path, embeddings_dirs=embeddings_dirs(ctx), dtype=choice.unet_dtype, clip_dtype=choice.text_encoder_dtype,
            vae_dtype=choice.vae_dtype, load_device=choice.device, output_clip=with_clip, output_clip_vision=True,
            clip_vision_dtype=choice.text_encoder_dtype)
        if loaded.clip_vision is None:
            raise ValueError(f"{node}: {path.name} holds no CLIP vision model (it is a {loaded.info.family} "
                             "checkpoint); load it with CheckpointLoaderSimple and the CLIP vision file with "
                             "CLIPVisionLoader")
        vae = _place_vae(loaded.vae, services)  # loaded through the model manager when a VAE node runs
        return model_services.prepare_unet(loaded.model, choice), loaded.clip, vae, loaded.clip_vision

    key = ("checkpoint+clip_vision", *file_identity(path), str(choice.unet_dtype), with_clip)
    return services.files.handles(key, load, source=model_services.file_source(path))


class UnCLIPCheckpointLoader(ModelFileLoader):
    node_id = "unCLIPCheckpointLoader"
    display_name = "unCLIPCheckpointLoader"
    category = "loaders"
    description = ("Loads an SD2.1 unCLIP checkpoint with the CLIP vision model it holds; encode an image with "
                   "that model and apply it with unCLIPConditioning.")
    file_input = Combo("ckpt_name", FileList("checkpoints"))
    inputs = [file_input]
    outputs = [Out("MODEL"), Out("CLIP"), Out("VAE"), Out("CLIP_VISION")]

    @classmethod
    def run(cls, ctx: Any, *, ckpt_name: str) -> tuple:
        return _load(ctx, cls.node_id, cls.file_path(ctx, ckpt_name), with_clip=True)


class ImageOnlyCheckpointLoader(ModelFileLoader):
    node_id = "ImageOnlyCheckpointLoader"
    display_name = "Image Only Checkpoint Loader (img2vid model)"
    category = "loaders/video_models"
    description = ("Loads the model, CLIP vision model and VAE of a checkpoint that holds a CLIP vision model "
                   "(e.g. SD2.1 unCLIP), without its text encoder. Video (img2vid) models are not supported.")
    file_input = Combo("ckpt_name", FileList("checkpoints"))
    inputs = [file_input]
    outputs = [Out("MODEL"), Out("CLIP_VISION"), Out("VAE")]

    @classmethod
    def run(cls, ctx: Any, *, ckpt_name: str) -> tuple:
        model, _clip, vae, clip_vision = _load(ctx, cls.node_id, cls.file_path(ctx, ckpt_name), with_clip=False)
        return model, clip_vision, vae


def _require(value: Any, attribute: str, node: str, name: str, kind: str) -> Any:
    if not hasattr(value, attribute):
        raise TypeError(f"{node}: input '{name}' must be a {kind}, got {type(value).__name__}")
    return value


class ImageOnlyCheckpointSave(SavesNamedFiles):
    node_id = "ImageOnlyCheckpointSave"
    display_name = "ImageOnlyCheckpointSave"
    category = "advanced/model_merging"
    description = ("Saves the model, CLIP vision model and VAE as one .safetensors checkpoint "
                   "(ImageOnlyCheckpointLoader loads it).")
    output_node = True
    hidden = ("PROMPT", "EXTRA_PNGINFO")
    inputs = [Socket("MODEL", "model"), Socket("CLIP_VISION", "clip_vision"), Socket("VAE", "vae"),
              String("filename_prefix", default="checkpoints/ComfyUI")]
    outputs: list[Out] = []

    @classmethod
    def run(cls, ctx: Any, *, model: Any, clip_vision: Any, vae: Any, filename_prefix: str, prompt: Any = None,
            extra_pnginfo: Any = None) -> dict:
        _require(model, "model_info", cls.node_id, "model", "MODEL")
        _require(clip_vision, "state_dict", cls.node_id, "clip_vision", "CLIP_VISION")
        _require(vae, "model", cls.node_id, "vae", "VAE")
        runtime = runtime_of(ctx, cls.node_id)
        try:
            path, _subfolder, filename = runtime.folders.next_output_path(filename_prefix, "safetensors")
        except ValueError as exc:
            raise ValueError(f"{cls.node_id}: input 'filename_prefix': {exc}") from None
        stem, counter = filename.removesuffix("_.safetensors").rsplit("_", 1)
        source = getattr(model.model_info, "clip_vision_source", None)
        tensors = saving.checkpoint_tensors(model, None, vae)
        tensors.update(saving.clip_vision_tensors(clip_vision, source.prefix if source else UNCLIP_PREFIX))
        metadata, extra = saving.model_metadata(model, f"{stem} {int(counter)}")
        if not runtime.disable_metadata:
            metadata.update(saving.prompt_metadata(prompt, extra_pnginfo))
        saving.write_tensors(path, {**tensors, **extra}, metadata)
        return {}


NODES = [UnCLIPCheckpointLoader, ImageOnlyCheckpointLoader, ImageOnlyCheckpointSave]
