"""Loader nodes: checkpoints, VAEs, LoRAs, text encoders and bare diffusion models (ComfyUI's ids).

Each file combo lists its model folder at validation time (`FileList`). The change
fingerprint of a loader is the (size, mtime_ns) of the file it names, so replacing a file
re-runs the loader and everything downstream. A file deleted after validation gives a
FileNotFoundError naming the node input and the file. Weights are loaded in the dtypes of
the runtime's device choice (nodes/api/model_services.py) and shared through its file cache, each
model marked with the file it came from (`ModelPatcher.source`: the model manager keeps the models the
next queued prompts load resident longest).

LoRA loaders return new handles (clones sharing the weights); their inputs are never
changed, as the graph cache shares node outputs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from folders.file_identity import file_identity
from nodes.api.declare import Combo, FileList, Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.api.results import NodeDefinitionError
from nodes.api.runtime import NodeRuntime, runtime_of

# The engine (and torch) is imported when a loader runs, not when the registry is built.
checkpoint_files = lazy_import("diffusion.checkpoints.checkpoint")
checkpoints = lazy_import("diffusion.checkpoints.loader")
lora = lazy_import("diffusion.models.lora.lora")
model_services = lazy_import("nodes.api.model_services")
pixel_space = lazy_import("diffusion.models.vae.pixel_space")

CLIP_TYPES = ("stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv", "pixart", "cosmos",
              "lumina2", "wan", "hidream", "chroma", "ace", "omnigen2", "qwen_image", "hunyuan_image", "flux2",
              "ovis")
SUPPORTED_CLIP_TYPES = ("stable_diffusion",)
UNET_WEIGHT_DTYPES = ("default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2")
# VAELoader's name for the VAE of pixel-space models (no file: the image is the latent;
# diffusion/models/vae/pixel_space.py)
PIXEL_SPACE = "pixel_space"
LORA_STRENGTH = {"default": 1.0, "min": -100.0, "max": 100.0, "step": 0.01}


def model_file(ctx: Any, key: str, name: Any, node: str, input_name: str) -> Path:
    """The file `name` in the `key` model folders; errors name the node input and the file."""
    folders = runtime_of(ctx, node).folders
    try:
        return folders.resolve(key, name)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{node}: input '{input_name}': {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{node}: input '{input_name}': {exc}") from None


def file_fingerprint(runtime: NodeRuntime | None, key: str, name: Any) -> list:
    """[size, mtime_ns] of the named model file. Raises when it cannot tell (the node then always re-runs)."""
    if runtime is None:
        raise RuntimeError(f"no runtime folders to look up {name!r}; the loader re-runs every time")
    _, size, mtime_ns = file_identity(runtime.folders.resolve(key, name))
    return [size, mtime_ns]


def embeddings_dirs(ctx: Any) -> list[Path]:
    return [Path(p) for p in ctx.runtime.folders.model_paths("embeddings")] if ctx.runtime is not None else []


class ModelFileLoader(Node):
    """A loader of one model file: `file_input` is the Combo that names it (options: a FileList of
    the model folder), placed in `inputs`. The change fingerprint is that file's [size, mtime_ns]."""

    file_input: ClassVar[Combo]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.file_input.options, FileList) or cls.file_input not in cls.inputs:
            raise NodeDefinitionError(f"node {cls.node_id}: file_input must be one of its inputs, a Combo over a "
                                      "FileList of the model folder")

    @classmethod
    def file_path(cls, ctx: Any, name: Any) -> Path:
        """The named file in the loader's model folder; errors name the node input and the file."""
        return model_file(ctx, cls.file_input.options.key, name, cls.node_id, cls.file_input.name)

    @classmethod
    def fingerprint(cls, ctx: Any, **inputs: Any) -> list:
        return file_fingerprint(ctx.runtime, cls.file_input.options.key, inputs.get(cls.file_input.name))

    @classmethod
    def load_shared(cls, ctx: Any, name: Any, kind: str, build: Any, *, refuse: tuple = ()) -> tuple:
        """(`build(path)`,) for the named file, built once per file version and shared through the runtime's
        file cache; an error of a `refuse` type becomes a ValueError naming this node."""
        path = cls.file_path(ctx, name)

        def load() -> tuple:
            try:
                return (build(path),)
            except refuse as exc:
                raise ValueError(f"{cls.node_id}: {exc}") from None

        return ctx.runtime.models.files.handles((kind, *file_identity(path)), load,
                                                source=model_services.file_source(path))


def _place_vae(vae, services) -> Any:
    """A freshly loaded VAE told where it computes and rests, and how to be loaded there: it stays where it was
    loaded (the offload device) until it computes; every encode and decode, whoever calls it (a VAE node, an
    inspect node, a pack), first loads it through the model manager with its own work estimate."""
    if vae is not None:
        vae.patcher.load_device = services.choice.device
        vae.patcher.offload_device = services.choice.offload_device
        vae.load_with = services.load_for_work
    return vae


class CheckpointLoaderSimple(ModelFileLoader):
    node_id = "CheckpointLoaderSimple"
    display_name = "Load Checkpoint"
    category = "loaders"
    description = "Loads a diffusion model checkpoint; diffusion models are used to denoise latents."
    file_input = Combo("ckpt_name", FileList("checkpoints"), tooltip="The name of the checkpoint (model) to load.")
    inputs = [file_input]
    outputs = [
        Out("MODEL", tooltip="The model used for denoising latents."),
        Out("CLIP", tooltip="The CLIP model used for encoding text prompts."),
        Out("VAE", tooltip="The VAE model used for encoding and decoding images to and from latent space."),
    ]

    @classmethod
    def run(cls, ctx: Any, *, ckpt_name: str) -> tuple:
        path = cls.file_path(ctx, ckpt_name)
        services = ctx.runtime.models
        choice = services.choice

        def load() -> tuple:
            loaded = checkpoints.load_checkpoint(path, embeddings_dirs=embeddings_dirs(ctx), dtype=choice.unet_dtype,
                                                 clip_dtype=choice.text_encoder_dtype, vae_dtype=choice.vae_dtype,
                                                 load_device=choice.device)
            return model_services.prepare_unet(loaded.model, choice), loaded.clip, _place_vae(loaded.vae, services)

        key = ("checkpoint", *file_identity(path), str(choice.unet_dtype))
        return services.files.handles(key, load, source=model_services.file_source(path))


class VAELoader(ModelFileLoader):
    node_id = "VAELoader"
    display_name = "Load VAE"
    category = "loaders"
    file_input = Combo("vae_name", FileList("vae", extra=(PIXEL_SPACE,)))
    inputs = [file_input]
    outputs = [Out("VAE")]

    @classmethod
    def fingerprint(cls, ctx: Any, **inputs: Any) -> list:
        if inputs.get("vae_name") == PIXEL_SPACE:
            return [PIXEL_SPACE]
        return super().fingerprint(ctx, **inputs)

    @classmethod
    def run(cls, ctx: Any, *, vae_name: str) -> tuple:
        if vae_name == PIXEL_SPACE:  # as ComfyUI: the name wins over a file of that name
            return (_place_vae(pixel_space.PixelSpaceVAE(), ctx.runtime.models),)
        path = cls.file_path(ctx, vae_name)
        services = ctx.runtime.models
        choice = services.choice
        key = ("vae", *file_identity(path), str(choice.vae_dtype))
        (vae,) = services.files.handles(
            key, lambda: (_place_vae(checkpoints.load_vae(path, dtype=choice.vae_dtype), services),),
            source=model_services.file_source(path))
        return (vae,)


def _lora_weights(ctx: Any, path: Path, lora_name: str) -> tuple[dict, str]:
    """The LoRA file's state dict (cached) and a source label naming the file."""
    identity = file_identity(path)
    weights = ctx.runtime.models.files.raw(("lora", *identity), lambda: dict(checkpoint_files.load_state_dict(path)))
    return weights, f"{lora_name}@{identity[1]}:{identity[2]}"


def _apply(node: str, lora_name: str, model, clip, weights, strength_model: float, strength_clip: float, source: str):
    try:
        new_model, new_clip, report = lora.apply_lora(model, clip, weights, strength_model, strength_clip,
                                                      source=source)
    except lora.LoraError as exc:
        raise type(exc)(f"{node}: LoRA {lora_name!r}: {exc}") from None
    return new_model, new_clip, report


class LoraLoader(ModelFileLoader):
    node_id = "LoraLoader"
    display_name = "Load LoRA"
    category = "loaders"
    description = ("LoRAs modify diffusion and CLIP models, altering the way in which latents are denoised "
                   "such as applying styles. Multiple LoRA nodes can be linked together.")
    file_input = Combo("lora_name", FileList("loras"), tooltip="The name of the LoRA.")
    inputs = [
        Socket("MODEL", "model", tooltip="The diffusion model the LoRA will be applied to."),
        Socket("CLIP", "clip", tooltip="The CLIP model the LoRA will be applied to."),
        file_input,
        Float("strength_model", **LORA_STRENGTH,
              tooltip="How strongly to modify the diffusion model. This value can be negative."),
        Float("strength_clip", **LORA_STRENGTH, tooltip="How strongly to modify the CLIP model. This value can be negative."),
    ]
    outputs = [Out("MODEL", tooltip="The modified diffusion model."), Out("CLIP", tooltip="The modified CLIP model.")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, clip: Any, lora_name: str, strength_model: float,
            strength_clip: float) -> tuple:
        if strength_model == 0 and strength_clip == 0:
            return model, clip
        weights, source = _lora_weights(ctx, cls.file_path(ctx, lora_name), lora_name)
        new_model, new_clip, report = _apply(cls.node_id, lora_name, model, clip, weights, strength_model,
                                             strength_clip, source)
        if report.not_loaded:
            _log(ctx).warning("%s %s: %s", cls.node_id, lora_name, report.summary())
        return new_model, new_clip


class LoraLoaderModelOnly(ModelFileLoader):
    node_id = "LoraLoaderModelOnly"
    display_name = "LoraLoaderModelOnly"
    category = "loaders"
    description = "Applies a LoRA to the diffusion model only."
    file_input = Combo("lora_name", FileList("loras"))
    inputs = [
        Socket("MODEL", "model"),
        file_input,
        Float("strength_model", **LORA_STRENGTH),
    ]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, lora_name: str, strength_model: float) -> tuple:
        if strength_model == 0:
            return (model,)
        weights, source = _lora_weights(ctx, cls.file_path(ctx, lora_name), lora_name)
        new_model, _, report = _apply(cls.node_id, lora_name, model, None, weights, strength_model, 0.0, source)
        if report.not_loaded:
            _log(ctx).warning("%s %s: %s", cls.node_id, lora_name, report.summary())
        return (new_model,)


class CLIPLoader(ModelFileLoader):
    node_id = "CLIPLoader"
    display_name = "Load CLIP"
    category = "advanced/loaders"
    description = ("Loads a text encoder file. Of the types, stable_diffusion is supported: a CLIP-L file gives "
                   "an SD1.x text encoder, CLIP-H an SD2.x one, CLIP-G the SDXL refiner's.")
    file_input = Combo("clip_name", FileList("text_encoders"))
    inputs = [
        file_input,
        Combo("type", CLIP_TYPES),
        Combo("device", ("default", "cpu"), optional=True, advanced=True),
    ]
    outputs = [Out("CLIP")]

    @classmethod
    def run(cls, ctx: Any, *, clip_name: str, type: str = "stable_diffusion", device: str = "default") -> tuple:
        if type not in SUPPORTED_CLIP_TYPES:
            raise ValueError(f"{cls.node_id}: input 'type': {type!r} text encoders are not supported; "
                             f"supported: {', '.join(SUPPORTED_CLIP_TYPES)}")
        path = cls.file_path(ctx, clip_name)
        services = ctx.runtime.models
        dtype = services.choice.text_encoder_dtype
        key = ("text_encoder", *file_identity(path), str(dtype), device)

        def load() -> tuple:
            clip = checkpoints.load_text_encoder([path], embeddings_dirs=embeddings_dirs(ctx), dtype=dtype)
            if device == "default":
                for patcher in clip.patchers():
                    patcher.load_device = services.choice.device
            return (clip,)

        return services.files.handles(key, load, source=model_services.file_source(path))


class UNETLoader(ModelFileLoader):
    node_id = "UNETLoader"
    display_name = "Load Diffusion Model"
    category = "advanced/loaders"
    description = "Loads a bare diffusion model (UNet) file; only the default weight dtype is supported."
    file_input = Combo("unet_name", FileList("diffusion_models"))
    inputs = [file_input, Combo("weight_dtype", UNET_WEIGHT_DTYPES)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, unet_name: str, weight_dtype: str = "default") -> tuple:
        if weight_dtype != "default":
            raise ValueError(f"{cls.node_id}: input 'weight_dtype': {weight_dtype!r} weights are not supported; "
                             "use 'default'")
        path = cls.file_path(ctx, unet_name)
        services = ctx.runtime.models
        choice = services.choice
        key = ("unet", *file_identity(path), str(choice.unet_dtype))

        def load() -> tuple:
            unet = checkpoints.load_unet(path, dtype=choice.unet_dtype, load_device=choice.device)
            return (model_services.prepare_unet(unet, choice),)

        return services.files.handles(key, load, source=model_services.file_source(path))


def _log(ctx: Any) -> logging.Logger:
    return ctx.runtime.logger if ctx.runtime is not None else logging.getLogger("latentgraph.nodes")


NODES = [CheckpointLoaderSimple, VAELoader, LoraLoader, LoraLoaderModelOnly, CLIPLoader, UNETLoader]
