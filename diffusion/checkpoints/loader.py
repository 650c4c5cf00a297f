"""Load model files into ready-to-run handles: ModelPatcher (UNet), CLIPHandle, VAEHandle.

Modules are built on the meta device and receive the file's tensors with
`load_state_dict(assign=True)`: with a safetensors file and no dtype change the parameters
ARE the memory-mapped tensors (nothing allocated twice; pages are read when first used).
A dtype or device change converts tensor by tensor. Every failure is a CheckpointError (or
its subclass ModelDetectionError) naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from diffusion.checkpoints.checkpoint import CheckpointError, load_state_dict
from diffusion.checkpoints.detect import (
    UNET_PREFIX,
    VAE_PREFIX,
    ModelDetectionError,
    ModelInfo,
    TextEncoderSource,
    detect_file_kind,
    detect_model,
    detect_unet,
    text_encoder_family,
)
from diffusion.memory.patcher import ModelPatcher
from diffusion.models.clip_vision.encode import ClipVision
from diffusion.models.clip_vision.model import ClipVisionError, ClipVisionModel
from diffusion.models.latent_formats import SD15_FORMAT, LatentFormat
from diffusion.models.text.clip_text import (
    TextEncoderError,
    is_openclip_layout,
    openclip_to_hf,
    text_encoder_config_from_state_dict,
)
from diffusion.models.text.text_encode import CLIPHandle, clip_handle_from_state_dicts
from diffusion.models.unet.unet import UNetModel
from diffusion.models.vae.convert import diffusers_vae_to_ldm, is_diffusers_vae
from diffusion.models.vae.handle import VAEHandle
from diffusion.models.vae.vae import AutoencoderKL, VAEConfigError, vae_config_from_state_dict

Device = torch.device | str | None


@dataclass
class LoadedCheckpoint:
    """The outputs of a checkpoint loader, plus what detection found."""

    model: ModelPatcher
    clip: CLIPHandle | None
    vae: VAEHandle | None
    info: ModelInfo
    clip_vision: ClipVision | None = None  # only when asked for and the file has one (unCLIP)


def _strip(sd: Mapping, prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: sd[k] for k in sd if k.startswith(prefix)}


def _releaser(sd: Mapping, prefix: str) -> Callable[[str], None] | None:
    release = getattr(sd, "release", None)
    return (lambda key: release(prefix + key)) if callable(release) else None


def _text_encoder_releaser(sd: Mapping, source: TextEncoderSource) -> Callable[[str], None] | None:
    """Page-dropping for one text encoder's extracted keys (undoing `source.extract`'s renaming)."""
    release = getattr(sd, "release", None)
    if not callable(release):
        return None
    if source.layout == "hf-old":
        return lambda key: release(source.prefix + key.removeprefix("text_model."))
    return lambda key: release(source.prefix + key)


def build_module(factory: Callable[[], nn.Module], tensors: Mapping[str, torch.Tensor], *, dtype: torch.dtype | None,
                 device: Device, what: str, path: str | Path,
                 release: Callable[[str], None] | None = None) -> nn.Module:
    """Build `factory()` on the meta device and assign `tensors` (converted to dtype/device) to it.

    `release(key)` is called after a tensor was converted into a new copy, so a memory-mapped
    source can drop its pages (peak memory stays near one copy of the weights).
    """
    with torch.device("meta"):
        module = factory()
    own = module.state_dict()
    missing = [k for k in own if k not in tensors]
    unexpected = [k for k in tensors if k not in own]
    if missing:
        raise CheckpointError(f"{path}: {what} weights incomplete: {len(missing)} missing, e.g. {missing[:3]}")
    converted = {}
    for key in own:
        tensor = tensors[key]
        if tuple(tensor.shape) != tuple(own[key].shape):
            raise CheckpointError(
                f"{path}: {what} weight {key} has shape {tuple(tensor.shape)}, the model needs {tuple(own[key].shape)}"
            )
        if not tensor.is_floating_point():
            raise CheckpointError(f"{path}: {what} weight {key} has non-float dtype {tensor.dtype}")
        converted[key] = tensor.to(device=device or tensor.device, dtype=dtype or tensor.dtype)
        if release is not None and converted[key] is not tensor:
            release(key)
    module.load_state_dict(converted, strict=True, assign=True)
    del unexpected  # extra keys (EMA copies, buffers of other tools) are ignored, as ComfyUI does
    return module.requires_grad_(False).eval()


def _build_unet(sd: Mapping, info: ModelInfo, path, dtype, device, load_device) -> ModelPatcher:
    unet = build_module(lambda: UNetModel(info.unet_config), _strip(sd, info.unet_prefix), dtype=dtype,
                        device=device, what="UNet", path=path, release=_releaser(sd, info.unet_prefix))
    return ModelPatcher(unet, model_info=info, load_device=load_device or device, offload_device=device)


def _build_vae(tensors: Mapping, path, dtype, device, latent_format: LatentFormat,
               release: Callable[[str], None] | None = None) -> VAEHandle:
    try:
        config = vae_config_from_state_dict(tensors)
    except (VAEConfigError, KeyError) as exc:
        raise CheckpointError(f"{path}: not a VAE in the original layout ({exc})") from None
    vae = build_module(lambda: AutoencoderKL(config), tensors, dtype=dtype, device=device, what="VAE", path=path,
                       release=release)
    return VAEHandle(vae, latent_format, source=str(path))


def load_checkpoint(path: str | os.PathLike, *, embeddings_dirs: Iterable[str | os.PathLike] = (),
                    dtype: torch.dtype | None = None, device: Device = None, prediction_override: str | None = None,
                    load_device: Device = None, clip_dtype: torch.dtype | None = None,
                    vae_dtype: torch.dtype | None = None, output_clip: bool = True,
                    output_vae: bool = True, output_clip_vision: bool = False,
                    clip_vision_dtype: torch.dtype | None = None) -> LoadedCheckpoint:
    """Load a whole SD1.x/SD2.x/SDXL (or SD2.1 unCLIP) checkpoint.

    `dtype`/`device`: where the weights live (None keeps the file's dtype and the CPU);
    `clip_dtype`/`vae_dtype` default to `dtype`. `load_device` is where the model manager
    moves the UNet to run it. `clip`/`vae` are None when the file lacks them (or not wanted);
    `clip_vision` (the checkpoint's own image encoder, run on `load_device` in `clip_vision_dtype`,
    default float32) only with `output_clip_vision` and when the file has one.
    """
    sd = load_state_dict(path)
    info = detect_model(sd, path, prediction_override)
    model = _build_unet(sd, info, path, dtype, device, load_device)
    clip = None
    if output_clip and info.text_encoder_sources:
        if len(info.text_encoder_sources) != len(info.text_encoders):
            found = [s.kind for s in info.text_encoder_sources]
            raise CheckpointError(f"{path}: {info.family} needs text encoders {list(info.text_encoders)}, found {found}")
        weights = {source.kind.removeprefix("clip_"): source.extract(sd) for source in info.text_encoder_sources}
        releases = {source.kind.removeprefix("clip_"): _text_encoder_releaser(sd, source)
                    for source in info.text_encoder_sources}
        try:
            clip = clip_handle_from_state_dicts(text_encoder_family(info.family), weights, embeddings_dirs=embeddings_dirs,
                                                dtype=clip_dtype or dtype, device=device, load_device=load_device,
                                                release={k: r for k, r in releases.items() if r is not None})
        except ValueError as exc:
            raise CheckpointError(f"{path}: text encoder weights do not fit: {exc}") from None
    vae = None
    if output_vae and info.vae_config is not None:
        vae = _build_vae(_strip(sd, VAE_PREFIX), path, vae_dtype or dtype, device, info.latent_format,
                         _releaser(sd, VAE_PREFIX))
    clip_vision = None
    if output_clip_vision and info.clip_vision_source is not None:
        clip_vision = _build_clip_vision(sd, info, path, clip_vision_dtype, load_device or device)
    return LoadedCheckpoint(model=model, clip=clip, vae=vae, info=info, clip_vision=clip_vision)


def _build_clip_vision(sd: Mapping, info: ModelInfo, path, dtype, device) -> ClipVision:
    tensors = info.clip_vision_source.extract(sd)
    try:
        model = ClipVisionModel.from_state_dict(tensors, source=f"{path} ({info.clip_vision_source.prefix})")
    except ClipVisionError as exc:
        raise CheckpointError(f"the checkpoint's CLIP vision model does not load: {exc}") from None
    return ClipVision(model, device=device or "cpu", dtype=dtype or torch.float32)


def load_vae(path: str | os.PathLike, *, dtype: torch.dtype | None = None, device: Device = None,
             latent_format: LatentFormat = SD15_FORMAT) -> VAEHandle:
    """Load a standalone VAE file (original or diffusers layout), or the VAE of a whole checkpoint.

    A VAE file does not say which family it serves; pass SDXL_FORMAT for SDXL VAEs.
    """
    sd = load_state_dict(path)
    kind = detect_file_kind(sd)
    if kind == "checkpoint":
        info = detect_model(sd, path)
        if info.vae_config is None:
            raise CheckpointError(f"{path}: this checkpoint contains no VAE")
        return _build_vae(_strip(sd, VAE_PREFIX), path, dtype, device, info.latent_format)
    if kind != "vae":
        raise CheckpointError(f"{path}: not a VAE file (it looks like: {kind})")
    tensors = dict(sd) if "encoder.conv_in.weight" in sd else _strip(sd, VAE_PREFIX)
    if is_diffusers_vae(tensors):
        try:
            tensors = diffusers_vae_to_ldm(tensors)
        except ValueError as exc:
            raise CheckpointError(f"{path}: diffusers-layout VAE could not be converted ({exc})") from None
    return _build_vae(tensors, path, dtype, device, latent_format)


def load_unet(path: str | os.PathLike, *, dtype: torch.dtype | None = None, device: Device = None,
              prediction_override: str | None = None, load_device: Device = None) -> ModelPatcher:
    """Load a bare UNet file (`input_blocks...` keys) or the UNet of a whole checkpoint."""
    sd = load_state_dict(path)
    kind = detect_file_kind(sd)
    if kind not in ("unet", "checkpoint"):
        raise ModelDetectionError(f"{path}: not a UNet / diffusion model file (it looks like: {kind})")
    prefix = UNET_PREFIX if kind == "checkpoint" else ""
    info = detect_unet(sd, path, prefix=prefix, prediction_override=prediction_override)
    return _build_unet(sd, info, path, dtype, device, load_device)


_TE_FAMILIES = {("clip_l",): "sd15", ("clip_h",): "sd21", ("clip_g",): "sdxl-refiner", ("clip_g", "clip_l"): "sdxl"}


def load_text_encoder(paths: Sequence[str | os.PathLike], *, embeddings_dirs: Iterable[str | os.PathLike] = (),
                      dtype: torch.dtype | None = None, device: Device = None) -> CLIPHandle:
    """Load standalone text encoder files: one CLIP-L (SD1), one CLIP-H (SD2), one CLIP-G
    (SDXL refiner) or CLIP-L + CLIP-G (SDXL). HF or OpenCLIP layouts. Each encoder's patcher has the
    resolved path of its own file as `source`."""
    weights: dict[str, dict] = {}
    releases: dict[str, Callable[[str], None]] = {}
    files: dict[str, str] = {}  # encoder name -> the file it came from (each encoder patcher's `source`)
    for path in paths:
        sd = load_state_dict(path)
        if detect_file_kind(sd) != "text_encoder":
            raise CheckpointError(f"{path}: not a text encoder file (it looks like: {detect_file_kind(sd)})")
        tensors = dict(sd)
        try:
            hf = openclip_to_hf(tensors) if is_openclip_layout(tensors) else tensors
            kind = text_encoder_config_from_state_dict(hf).kind
        except (TextEncoderError, KeyError) as exc:
            raise CheckpointError(f"{path}: not a CLIP text encoder in a known layout ({exc})") from None
        if kind in weights:
            raise CheckpointError(f"{path}: a second {kind} text encoder was given")
        weights[kind] = tensors
        files[kind.removeprefix("clip_")] = str(Path(path).resolve())
        if callable(getattr(sd, "release", None)):
            releases[kind.removeprefix("clip_")] = sd.release
    family = _TE_FAMILIES.get(tuple(sorted(weights)))
    if family is None:
        raise CheckpointError(f"unsupported text encoder combination {sorted(weights)} from {[str(p) for p in paths]}")
    try:
        handle = clip_handle_from_state_dicts(family, {k.removeprefix("clip_"): v for k, v in weights.items()},
                                              embeddings_dirs=embeddings_dirs, dtype=dtype, device=device,
                                              release=releases)
    except ValueError as exc:
        raise CheckpointError(f"{[str(p) for p in paths]}: text encoder weights do not fit: {exc}") from None
    for name, patcher in handle.encoders.items():  # each encoder knows its own file (queue-aware eviction)
        if name in files:
            patcher.source = files[name]
    return handle
