"""Load a diffusers model folder (model_index.json, unet/, vae/, text_encoder/, text_encoder_2/).

The UNet and VAE are renamed to the original layout and built like a single-file checkpoint's;
the text encoders are already in the Hugging Face layout our encoders read (text_encoder for
CLIP-L or CLIP-H, text_encoder_2 for SDXL's CLIP-G). The family is detected from the UNet's
shapes; the prediction type comes from scheduler/scheduler_config.json ("v_prediction" -> v).

SD2 folders converted by diffusers keep 23 of OpenCLIP-H's 24 layers (SD2 reads the
penultimate one). A 24th layer of zeros is added back: with zero weights a pre-norm layer
passes its input through unchanged, so the penultimate output is the original one, as ComfyUI
computes it (its 24-layer model leaves the missing layer unused).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import torch

from diffusion.checkpoints.checkpoint import CheckpointError, load_state_dict
from diffusion.checkpoints.detect import detect_unet
from diffusion.checkpoints.diffusers_unet import DiffusersUNetError, diffusers_unet_to_ldm, is_diffusers_unet
from diffusion.checkpoints.loader import LoadedCheckpoint, build_module
from diffusion.memory.patcher import ModelPatcher
from diffusion.models.text.encoder_specs import FAMILY_ENCODERS, clip_family
from diffusion.models.text.text_encode import clip_handle_from_state_dicts
from diffusion.models.unet.unet import UNetModel
from diffusion.models.vae.convert import diffusers_vae_to_ldm, is_diffusers_vae
from diffusion.models.vae.handle import VAEHandle
from diffusion.models.vae.vae import AutoencoderKL, VAEConfigError, vae_config_from_state_dict

WEIGHT_NAMES = {"unet": "diffusion_pytorch_model", "vae": "diffusion_pytorch_model", "text_encoder": "model",
                "text_encoder_2": "model"}
SUFFIXES = (".safetensors", ".fp16.safetensors", ".bin", ".fp16.bin")
PREDICTIONS = {"epsilon": "eps", "v_prediction": "v"}
OPENCLIP_H_LAYERS = 24
OPENCLIP_H_WIDTH = 1024
_LAYER = re.compile(r"^text_model\.encoder\.layers\.(\d+)\.(.*)$")


def pad_layers(sd: dict[str, torch.Tensor], layers: int) -> dict[str, torch.Tensor]:
    """`sd` (HF layout) with zero-weight copies of its last layer appended until it has `layers` layers."""
    present = 1 + max((int(m.group(1)) for k in sd if (m := _LAYER.match(k))), default=-1)
    if present == 0 or present >= layers:
        return sd
    last = {m.group(2): v for k, v in sd.items() if (m := _LAYER.match(k)) and int(m.group(1)) == present - 1}
    out = dict(sd)
    for index in range(present, layers):
        out.update({f"text_model.encoder.layers.{index}.{rest}": torch.zeros_like(v) for rest, v in last.items()})
    return out


def _restore_cut_sd2_layer(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    embedding = sd.get("text_model.embeddings.token_embedding.weight")
    if embedding is None or embedding.shape[-1] != OPENCLIP_H_WIDTH:
        return sd
    return pad_layers(sd, OPENCLIP_H_LAYERS)


def weights_file(folder: Path, part: str) -> Path | None:
    """The weights file of one part (`unet`, `vae`, ...) of a diffusers folder, or None without one."""
    for suffix in SUFFIXES:
        path = folder / part / (WEIGHT_NAMES[part] + suffix)
        if path.is_file():
            return path
    return None


def _prediction(folder: Path) -> str | None:
    config = folder / "scheduler" / "scheduler_config.json"
    if not config.is_file():
        return None
    try:
        value = json.loads(config.read_text(encoding="utf-8")).get("prediction_type")
    except (OSError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{config}: unreadable scheduler config ({exc})") from None
    if value is None:
        return None
    if value not in PREDICTIONS:
        raise CheckpointError(f"{config}: unsupported prediction_type {value!r}; expected one of {list(PREDICTIONS)}")
    return PREDICTIONS[value]


def load_diffusers(folder: str | os.PathLike, *, embeddings_dirs: Iterable[str | os.PathLike] = (),
                   dtype: torch.dtype | None = None, device: torch.device | str | None = None,
                   load_device: torch.device | str | None = None, clip_dtype: torch.dtype | None = None,
                   vae_dtype: torch.dtype | None = None) -> LoadedCheckpoint:
    """MODEL, CLIP and VAE of a diffusers folder (CLIP/VAE None when the folder lacks them)."""
    folder = Path(folder)
    unet_path = weights_file(folder, "unet")
    if not (folder / "model_index.json").is_file() or unet_path is None:
        raise CheckpointError(f"{folder}: not a diffusers model folder (needs model_index.json and unet weights)")
    unet_sd = load_state_dict(unet_path)
    if not is_diffusers_unet(unet_sd):
        raise CheckpointError(f"{unet_path}: not a diffusers-layout UNet")
    try:
        tensors = diffusers_unet_to_ldm(unet_sd)
    except DiffusersUNetError as exc:
        raise CheckpointError(f"{unet_path}: {exc}") from None
    info = detect_unet(tensors, unet_path, prediction_override=_prediction(folder))
    unet = build_module(lambda: UNetModel(info.unet_config), tensors, dtype=dtype, device=device, what="UNet",
                        path=unet_path)
    model = ModelPatcher(unet, model_info=info, load_device=load_device or device, offload_device=device)
    return LoadedCheckpoint(model=model, clip=_clip(folder, info.family, embeddings_dirs, clip_dtype or dtype, device,
                                                    load_device),
                            vae=_vae(folder, info, vae_dtype or dtype, device), info=info)


def _clip(folder: Path, family: str, embeddings_dirs, dtype, device, load_device):
    specs = FAMILY_ENCODERS[clip_family(family)]
    weights = {}
    for spec in specs:
        path = weights_file(folder, "text_encoder_2" if spec.name == "g" else "text_encoder")
        if path is None:
            return None
        weights[spec.name] = dict(load_state_dict(path))
        if spec.name == "h":
            weights[spec.name] = _restore_cut_sd2_layer(weights[spec.name])
    try:
        return clip_handle_from_state_dicts(family, weights, embeddings_dirs=embeddings_dirs, dtype=dtype,
                                            device=device, load_device=load_device)
    except ValueError as exc:
        raise CheckpointError(f"{folder}: text encoder weights do not fit: {exc}") from None


def _vae(folder: Path, info, dtype, device) -> VAEHandle | None:
    path = weights_file(folder, "vae")
    if path is None:
        return None
    tensors = dict(load_state_dict(path))
    try:
        if is_diffusers_vae(tensors):
            tensors = diffusers_vae_to_ldm(tensors)
        config = vae_config_from_state_dict(tensors)
    except (ValueError, VAEConfigError, KeyError) as exc:
        raise CheckpointError(f"{path}: not a VAE in the diffusers layout ({exc})") from None
    vae = build_module(lambda: AutoencoderKL(config), tensors, dtype=dtype, device=device, what="VAE", path=path)
    return VAEHandle(vae, info.latent_format, source=str(path))
