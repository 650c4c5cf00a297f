"""Describe a model file without building any model: kind, family, prediction, parameter
counts per component, dtypes, and for LoRAs / embeddings what they apply to.

Only shapes (and, for SD2 prediction, one small tensor) are read, so inspecting a
multi-gigabyte file is instant. Used by `python main.py inspect`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.checkpoints.detect import UNET_PREFIX, VAE_PREFIX, detect_file_kind, detect_model, detect_unet
from diffusion.checkpoints.weight_kinds import recognise
from diffusion.models.vae.convert import diffusers_vae_to_ldm, is_diffusers_vae
from diffusion.models.vae.vae import vae_config_from_state_dict

# Context width of the UNet's cross-attention -> the family a LoRA/UNet was made for (full sizes).
CONTEXT_WIDTH_FAMILY = {768: "SD1.x", 1024: "SD2.x", 2048: "SDXL", 1280: "SDXL refiner"}
EMBEDDING_WIDTH_FAMILY = {768: "SD1.x (CLIP-L)", 1024: "SD2.x (CLIP-H)", 1280: "SDXL (CLIP-G)"}


def _shape(sd: Mapping, key: str) -> tuple[int, ...]:
    shape_of = getattr(sd, "shape", None)
    return tuple(shape_of(key)) if callable(shape_of) else tuple(sd[key].shape)


def _dtype(sd: Mapping, key: str) -> str:
    name_of = getattr(sd, "dtype_name", None)
    if callable(name_of):
        return {"F16": "fp16", "F32": "fp32", "BF16": "bf16", "F64": "fp64"}.get(name_of(key), name_of(key).lower())
    return str(sd[key].dtype).replace("torch.", "").replace("float", "fp").replace("bfp16", "bf16")


def _component(sd: Mapping, keys: list[str]) -> dict[str, Any]:
    dtypes = Counter(_dtype(sd, k) for k in keys)
    return {
        "parameters": sum(math.prod(_shape(sd, k)) for k in keys),
        "tensors": len(keys),
        "dtype": dtypes.most_common(1)[0][0] if dtypes else None,
    }


def describe_model_file(path: str | Path) -> dict[str, Any]:
    """A JSON-ready description of a model file. Raises CheckpointError for unreadable files."""
    path = Path(path)
    sd = load_state_dict(path)
    extra = recognise(sd)
    if extra is not None:
        return {"path": str(path), "size_bytes": path.stat().st_size, **extra}
    kind = detect_file_kind(sd)
    summary: dict[str, Any] = {"path": str(path), "kind": kind, "size_bytes": path.stat().st_size}
    describe = {"checkpoint": _checkpoint, "lora": _lora, "vae": _vae, "unet": _unet,
                "text_encoder": _text_encoder, "embedding": _embedding}.get(kind)
    if describe is None:
        summary["error"] = "unknown layout: not a checkpoint, LoRA, VAE, UNet, text encoder or embedding"
        return summary
    summary.update(describe(sd, path))
    return summary


def _checkpoint(sd: Mapping, path: Path) -> dict[str, Any]:
    info = detect_model(sd, path)
    keys = list(sd)
    components = {"unet": _component(sd, [k for k in keys if k.startswith(UNET_PREFIX)])}
    if info.vae_config is not None:
        components["vae"] = _component(sd, [k for k in keys if k.startswith(VAE_PREFIX)])
    for source in info.text_encoder_sources:
        components[source.kind] = _component(sd, [k for k in keys if k.startswith(source.prefix)])
    if info.clip_vision_source is not None:
        components["clip_vision"] = _component(sd, info.clip_vision_source.keys(sd))
    return {
        "family": info.family,
        "prediction": info.prediction,
        "prediction_source": info.prediction_source,
        "text_encoders": list(info.text_encoders),
        "latent_scale_factor": info.latent_format.scale_factor,
        "components": components,
        "unet_config": info.unet_config.to_dict(),
    }


def _unet(sd: Mapping, path: Path) -> dict[str, Any]:
    info = detect_unet(sd, path)
    return {"family": info.family, "prediction": info.prediction, "components": {"unet": _component(sd, list(sd))},
            "unet_config": info.unet_config.to_dict()}


def _vae(sd: Mapping, path: Path) -> dict[str, Any]:
    prefix = VAE_PREFIX if VAE_PREFIX + "encoder.conv_in.weight" in sd else ""
    layout = "diffusers" if is_diffusers_vae(sd) else "original"
    config = vae_config_from_state_dict(diffusers_vae_to_ldm(sd) if layout == "diffusers" else sd, prefix)
    return {"layout": layout,"applies_to": "any SD1.x/SD2.x/SDXL model with a 4-channel latent" if config.embed_dim == 4 else
            f"models with a {config.embed_dim}-channel latent",
            "components": {"vae": _component(sd, list(sd))}, "vae_config": config.to_dict()}


_LORA_NAME = re.compile(r"^(lora_unet|lora_te1|lora_te2|lora_te)_(.+?)\.(lora_down|lora_up|alpha|lora_mid)")


def _lora(sd: Mapping, path: Path) -> dict[str, Any]:
    modules: dict[str, set[str]] = {}
    ranks: Counter = Counter()
    context_width = None
    for key in sd:
        match = _LORA_NAME.match(key)
        if not match:
            continue
        prefix, name, part = match.groups()
        modules.setdefault(prefix, set()).add(name)
        if part == "lora_down":
            ranks[_shape(sd, key)[0]] += 1
            if context_width is None and name.endswith("attn2_to_k"):
                context_width = _shape(sd, key)[1]
    targets = {"lora_unet": "unet", "lora_te": "text encoder", "lora_te1": "text encoder 1 (CLIP-L)",
               "lora_te2": "text encoder 2 (CLIP-G)"}
    result: dict[str, Any] = {
        "applies_to": {targets[p]: len(names) for p, names in sorted(modules.items())},
        "ranks": sorted(ranks),
        "components": {"lora": _component(sd, list(sd))},
    }
    if context_width is not None:
        result["unet_context_width"] = context_width
        result["family_guess"] = CONTEXT_WIDTH_FAMILY.get(context_width, "unknown (not a released size)")
    unknown = [k for k in sd if not _LORA_NAME.match(k)]
    if unknown:
        result["keys_in_other_styles"] = len(unknown)
    return result


def _text_encoder(sd: Mapping, path: Path) -> dict[str, Any]:
    layers = {int(m.group(1)) for k in sd for m in [re.match(r"^(?:text_model\.encoder\.layers|transformer\.resblocks)\.(\d+)\.", k)] if m}
    token = next((k for k in sd if k.endswith("token_embedding.weight")), None)
    width = _shape(sd, token)[1] if token else None
    kind = "clip_g" if 31 in layers else "clip_h" if 23 in layers else "clip_l"
    return {"text_encoder": kind, "layers": max(layers) + 1 if layers else 0, "width": width,
            "layout": "openclip" if any(k.startswith("transformer.resblocks.") for k in sd) else "hf",
            "components": {kind: _component(sd, list(sd))}}


def _embedding(sd: Mapping, path: Path) -> dict[str, Any]:
    vectors = {}
    for key in sd:
        shape = _shape(sd, key)
        vectors[key] = {"vectors": shape[0] if len(shape) > 1 else 1, "width": shape[-1] if shape else None}
    widths = {v["width"] for v in vectors.values()}
    if {"clip_l", "clip_g"} <= set(vectors):
        applies = "SDXL (CLIP-L and CLIP-G)"
    elif len(widths) == 1:
        applies = EMBEDDING_WIDTH_FAMILY.get(next(iter(widths)), "unknown width")
    else:
        applies = "unknown"
    return {"applies_to": applies, "embedding": vectors, "usage": f"embedding:{path.stem}"}
