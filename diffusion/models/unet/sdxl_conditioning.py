"""SDXL's vector conditioning `y`: pooled text embedding followed by Fourier size features.

Base: pooled ‖ emb(height) ‖ emb(width) ‖ emb(crop_h) ‖ emb(crop_w) ‖ emb(target_height) ‖
emb(target_width). Refiner: pooled ‖ emb(height) ‖ emb(width) ‖ emb(crop_h) ‖ emb(crop_w) ‖
emb(aesthetic_score). Each emb is the 256-wide sinusoidal embedding the UNet uses for time.
"""

from __future__ import annotations

import torch

from diffusion.models.unet.blocks import timestep_embedding

SIZE_EMBED_DIM = 256
SDXL_FAMILIES = ("sdxl", "sdxl-refiner")


def adm_vector(family: str, pooled: torch.Tensor, width: int, height: int, crop_w: int = 0, crop_h: int = 0,
               target_width: int | None = None, target_height: int | None = None,
               aesthetic_score: float = 6.0) -> torch.Tensor:
    """Build `y` [B, pooled_dim + n*256] for an SDXL base ("sdxl") or refiner ("sdxl-refiner") UNet."""
    if family not in SDXL_FAMILIES:
        raise ValueError(f"vector conditioning exists only for {', '.join(SDXL_FAMILIES)}, not {family!r}")
    if pooled.ndim != 2:
        raise ValueError(f"pooled must be [batch, dim], got shape {tuple(pooled.shape)}")
    if family == "sdxl":
        numbers = [height, width, crop_h, crop_w,
                   height if target_height is None else target_height,
                   width if target_width is None else target_width]
    else:
        numbers = [height, width, crop_h, crop_w, aesthetic_score]
    features = timestep_embedding(torch.tensor(numbers, dtype=torch.float32), SIZE_EMBED_DIM).reshape(1, -1)
    features = features.to(device=pooled.device, dtype=pooled.dtype).expand(pooled.shape[0], -1)
    return torch.cat([pooled, features], dim=1)


def adm_channels(family: str, pooled_dim: int) -> int:
    """Width of `y` for a family with a pooled text embedding of `pooled_dim`."""
    return pooled_dim + (6 if family == "sdxl" else 5) * SIZE_EMBED_DIM
