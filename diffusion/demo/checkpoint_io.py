"""Write the demo model as one SD1.x single-file checkpoint (UNet under `model.diffusion_model.`,
VAE under `first_stage_model.`, text encoder under `cond_stage_model.transformer.` in the HF
`text_model.` layout), so `diffusion.checkpoints.loader.load_checkpoint` detects it as "sd15" and loads it."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from diffusion.models.text.clip_text import ClipTextEncoder
from diffusion.models.unet.unet import UNetModel
from diffusion.models.vae.vae import AutoencoderKL

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
TEXT_PREFIX = "cond_stage_model.transformer."


def demo_state_dict(unet: UNetModel, vae: AutoencoderKL, encoder: ClipTextEncoder,
                    dtype: torch.dtype = torch.float16) -> dict[str, torch.Tensor]:
    """All weights under their SD1 checkpoint keys, converted to `dtype` (buffers left out)."""
    out: dict[str, torch.Tensor] = {}
    for prefix, module in ((UNET_PREFIX, unet), (VAE_PREFIX, vae), (TEXT_PREFIX, encoder)):
        for name, param in module.named_parameters():
            out[prefix + name] = param.detach().to("cpu", dtype).contiguous()
    return out


def save_demo_checkpoint(path: str | Path, unet: UNetModel, vae: AutoencoderKL, encoder: ClipTextEncoder,
                         metadata: dict[str, str] | None = None, dtype: torch.dtype = torch.float16) -> int:
    """Write the checkpoint (creating folders) and return its size in bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"latentgraph.family": "sd15", "latentgraph.kind": "demo", "modelspec.prediction_type": "epsilon"}
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    tmp = path.with_name(path.name + ".partial")
    save_file(demo_state_dict(unet, vae, encoder, dtype), str(tmp), metadata=meta)
    tmp.replace(path)
    return path.stat().st_size
