"""Write models back to single files in the original layouts, as ComfyUI's save nodes do.

A whole checkpoint holds the UNet under `model.diffusion_model.`, the VAE under
`first_stage_model.` and the text encoders where the released files of the family keep them
(the layout `make_checkpoint` writes and the loader reads). Weights are saved as the handles
run them: each handle's patches (merges, LoRAs) are applied, in the weights' own dtype.

Metadata follows ComfyUI: `modelspec.*` entries for SDXL and its refiner, the prediction
(`modelspec.predict_key` "epsilon" or "v"; v models also get an empty `v_pred` tensor), then,
unless metadata is disabled, `prompt` (the API prompt as JSON, "" when there is none) and
one JSON entry per extra_pnginfo key (the UI workflow).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from diffusion.checkpoints.detect import UNET_PREFIX, VAE_PREFIX, text_encoder_family
from diffusion.checkpoints.make_checkpoint import TEXT_ENCODER_LAYOUT, V_PRED_KEY
from diffusion.checkpoints.merge import current_weights
from diffusion.checkpoints.safetensors_writer import TensorSpec, write_safetensors_streaming
from diffusion.memory.patcher import ModelPatcher
from diffusion.models.text.clip_text import hf_to_openclip
from diffusion.models.text.encoder_specs import clip_family

ARCHITECTURES = {"sdxl": "stable-diffusion-xl-v1-base", "sdxl-refiner": "stable-diffusion-xl-v1-refiner"}
PREDICT_KEYS = {"eps": "epsilon", "v": "v"}


class SaveError(ValueError):
    """Handles that cannot be saved together (a text encoder of another family than the model)."""


def module_tensors(patcher: ModelPatcher) -> dict[str, torch.Tensor]:
    """The handle's state dict with its patches applied (parameters patched, buffers as they are)."""
    tensors = {k: v.detach() for k, v in patcher.model.state_dict().items()}
    tensors.update(current_weights(patcher))
    return tensors


def unet_tensors(model: ModelPatcher) -> dict[str, torch.Tensor]:
    return {UNET_PREFIX + k: v for k, v in module_tensors(model).items()}


def vae_tensors(vae: Any, prefix: str = VAE_PREFIX) -> dict[str, torch.Tensor]:
    return {prefix + k: v.detach() for k, v in vae.model.state_dict().items()}


def text_encoder_tensors(clip: Any) -> dict[str, dict[str, torch.Tensor]]:
    """Per encoder name ("l", "g", "h"), its weights in the HF layout with patches applied (no position ids)."""
    return {name: {k: v for k, v in current_weights(p).items() if not k.endswith("position_ids")}
            for name, p in clip.encoders.items()}


def checkpoint_text_encoder_tensors(clip: Any, family: str) -> dict[str, torch.Tensor]:
    """The text encoders at the keys and in the layouts of a `family` checkpoint."""
    if clip_family(text_encoder_family(family)) != clip.family:
        raise SaveError(f"the CLIP is a {clip.family} text encoder, the model a {family} model")
    per_encoder = text_encoder_tensors(clip)
    out: dict[str, torch.Tensor] = {}
    for kind, prefix, layout in TEXT_ENCODER_LAYOUT[text_encoder_family(family)]:
        tensors = per_encoder[kind.removeprefix("clip_")]
        if layout == "openclip":
            tensors = hf_to_openclip(tensors)
        out.update({prefix + k: v for k, v in tensors.items()})
    return out


def model_metadata(model: ModelPatcher, title: str) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """ComfyUI's modelspec metadata for `model` and the extra tensors it writes (`v_pred`)."""
    info = model.model_info
    metadata: dict[str, str] = {}
    extra: dict[str, torch.Tensor] = {}
    architecture = ARCHITECTURES.get(info.family) if info is not None else None
    if architecture is not None:
        metadata.update({"modelspec.architecture": architecture, "modelspec.sai_model_spec": "1.0.0",
                         "modelspec.implementation": "sgm", "modelspec.title": title})
    prediction = info.prediction if info is not None else "eps"
    metadata["modelspec.predict_key"] = PREDICT_KEYS[prediction]
    if prediction == "v":
        extra[V_PRED_KEY] = torch.zeros(0)
    return metadata, extra


def prompt_metadata(prompt: Any, extra_pnginfo: Any) -> dict[str, str]:
    """`prompt` as JSON ("" without one) and each extra_pnginfo entry as JSON, as ComfyUI writes them."""
    metadata = {"prompt": json.dumps(prompt) if prompt is not None else ""}
    if isinstance(extra_pnginfo, Mapping):
        metadata.update({str(k): json.dumps(v) for k, v in extra_pnginfo.items()})
    return metadata


def checkpoint_tensors(model: ModelPatcher, clip: Any = None, vae: Any = None) -> dict[str, torch.Tensor]:
    """Every tensor of a single-file checkpoint of `model` (plus `clip` and `vae` when given)."""
    tensors = unet_tensors(model)
    if clip is not None:
        family = model.model_info.family if model.model_info is not None else None
        if family is None:
            raise SaveError("the model's family is unknown, so the text encoder layout is too")
        tensors.update(checkpoint_text_encoder_tensors(clip, family))
    if vae is not None:
        tensors.update(vae_tensors(vae))
    return tensors


def write_tensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor],
                  metadata: Mapping[str, str] | None = None) -> Path:
    """Write `tensors` (each in its own dtype) to a safetensors file, streamed, appearing atomically."""
    specs = [TensorSpec(k, tuple(v.shape), v.dtype) for k, v in tensors.items()]
    write_safetensors_streaming(path, specs, lambda spec: tensors[spec.key], dict(metadata or {}))
    return Path(path)


def clip_vision_tensors(clip_vision: Any, prefix: str = "embedder.model.visual.") -> dict[str, torch.Tensor]:
    """A CLIP_VISION handle's weights in the Hugging Face layout under `prefix`, as ComfyUI's save_checkpoint
    writes them (the unCLIP prefix by default; the loader reads this layout and the released one)."""
    return {prefix + k: v.detach() for k, v in clip_vision.state_dict().items()}
