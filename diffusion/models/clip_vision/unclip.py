"""unCLIP's image-embedding conditioning: noise-augmented CLIP image embeds as the UNet's `y`.

unCLIPConditioning puts `unclip_conditioning` = [{"clip_vision_output", "strength",
"noise_augmentation"}, ...] on each conditioning entry. As ComfyUI's model_base.unclip_adm:

- every image embedding e (each row of every output's image_embeds) with noise level
  n = round(999 * noise_augmentation) becomes
      strength * [ sqrt(ᾱ_n) e + sqrt(1 - ᾱ_n) ε  ‖  emb(n) ]
  with ᾱ the squaredcos_cap_v2 schedule of 1000 steps, ε ~ N(0, 1) from the seed, and emb(n)
  the [cos | sin] timestep embedding as wide as e (the augmentor's data mean 0, std 1: the
  released SD2.1 unCLIP and SDXL configs carry no clip stats);
- one embedding: that vector; several: their sum, whose first half is augmented once more at
  `merge_noise` (0.05 for SD2.1 unCLIP, 0 for SDXL) the same way. ComfyUI draws that second noise
  from the global RNG; here it comes from the same seed, so runs repeat exactly.

SD2.1 unCLIP uses the whole [1, 2 * dim] vector as `y` (zeros when there is no image, so strength 0
is the same as no image); SDXL (revision) puts its first `pooled_dim` numbers in place of the pooled
text embedding. `UNCLIP_ADM` gives each SD2.1 unCLIP family's `y` width: 2 x 768 for ViT-L image
embeds, 2 x 1024 for ViT-H (ComfyUI's SD21UnclipL / SD21UnclipH).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import torch

from diffusion.models.unet.blocks import timestep_embedding

MAX_NOISE_LEVEL = 1000
UNCLIP_ADM = {"sd21-unclip-l": 1536, "sd21-unclip-h": 2048}


def noise_betas() -> torch.Tensor:
    """The float64 betas of the augmentor's squaredcos_cap_v2 schedule of 1000 steps (capped at 0.999)."""
    def alpha_bar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    steps = MAX_NOISE_LEVEL
    return torch.tensor([min(1 - alpha_bar((i + 1) / steps) / alpha_bar(i / steps), 0.999) for i in range(steps)],
                        dtype=torch.float64)


@lru_cache(maxsize=1)
def sqrt_alphas_cumprod() -> tuple[torch.Tensor, torch.Tensor]:
    """sqrt(ᾱ) and sqrt(1 - ᾱ) of the squaredcos_cap_v2 schedule."""
    cumprod = torch.cumprod(1.0 - noise_betas(), dim=0)
    return cumprod.sqrt().float(), (1.0 - cumprod).sqrt().float()


def noise_level_of(noise_augmentation: float) -> int:
    return round((MAX_NOISE_LEVEL - 1) * float(noise_augmentation))


def augment(embeds: torch.Tensor, noise_level: int, seed: int | None) -> torch.Tensor:
    """[N, dim] -> [N, 2 * dim]: the noised embeds followed by the noise level's embedding."""
    signal, noise_scale = sqrt_alphas_cumprod()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    noise = torch.randn(embeds.shape, generator=generator, dtype=torch.float32).to(embeds.device)
    noised = signal[noise_level] * embeds.float() + noise_scale[noise_level] * noise
    level = timestep_embedding(torch.tensor([float(noise_level)], device=embeds.device), embeds.shape[-1])
    return torch.cat([noised, level.expand(embeds.shape[0], -1)], dim=1)


def _check_entry(entry: object, where: str) -> tuple[torch.Tensor, float, float]:
    if not isinstance(entry, dict) or "clip_vision_output" not in entry:
        raise ValueError(f"{where}: each unclip_conditioning item must be a dict with clip_vision_output")
    output = entry["clip_vision_output"]
    try:
        embeds = output["image_embeds"]
    except (KeyError, TypeError):
        embeds = getattr(output, "image_embeds", None)
    if not isinstance(embeds, torch.Tensor) or embeds.ndim != 2:
        raise ValueError(f"{where}: clip_vision_output has no [batch, dim] image_embeds")
    return embeds, float(entry.get("strength", 1.0)), float(entry.get("noise_augmentation", 0.0))


def unclip_adm(unclip_conditioning: Sequence, *, seed: int, merge_noise: float = 0.0,
               where: str = "conditioning") -> torch.Tensor:
    """The [1, 2 * dim] unCLIP vector of a list of unclip_conditioning items (see the module doc)."""
    if not isinstance(unclip_conditioning, (list, tuple)) or not unclip_conditioning:
        raise ValueError(f"{where}: unclip_conditioning must be a non-empty list")
    vectors = []
    for entry in unclip_conditioning:
        embeds, strength, noise_augmentation = _check_entry(entry, where)
        if vectors and embeds.shape[-1] != vectors[0].shape[-1] // 2:
            raise ValueError(f"{where}: unCLIP image embeds of different widths ({embeds.shape[-1]} and "
                             f"{vectors[0].shape[-1] // 2}) cannot be combined")
        for row in embeds:
            vectors.append(augment(row.unsqueeze(0), noise_level_of(noise_augmentation), seed) * strength)
    if len(vectors) == 1:
        return vectors[0]
    total = torch.stack(vectors).sum(0)
    half = total.shape[-1] // 2
    return augment(total[:, :half], noise_level_of(merge_noise), seed)


def _seed(seed: int | None) -> int:
    return (0 if seed is None else int(seed)) - 10  # ComfyUI draws unCLIP noise from the sampler's seed - 10


def sdxl_pooled(unclip_conditioning: Sequence, pooled: torch.Tensor | None, seed: int | None,
                where: str = "conditioning") -> torch.Tensor:
    """SDXL revision: the first `pooled` width of the unCLIP vector stands in for the pooled text embedding."""
    vector = unclip_adm(unclip_conditioning, seed=_seed(seed), merge_noise=0.0, where=where)
    width = pooled.shape[-1] if isinstance(pooled, torch.Tensor) else vector.shape[-1] // 2
    if vector.shape[-1] // 2 < width:
        raise ValueError(f"{where}: the CLIP vision image embeds are {vector.shape[-1] // 2} wide but this SDXL "
                         f"model's pooled embedding is {width} wide (SDXL revision needs CLIP vision ViT-bigG)")
    return vector[:, :width]


def sd21_unclip_y(unclip_conditioning: Sequence | None, adm_channels: int, seed: int | None,
                  where: str = "conditioning") -> torch.Tensor:
    """SD2.1 unCLIP's `y`: the whole unCLIP vector, or zeros [1, adm_channels] without an image."""
    if unclip_conditioning is None:
        return torch.zeros(1, adm_channels)
    vector = unclip_adm(unclip_conditioning, seed=_seed(seed), merge_noise=0.05, where=where)
    if vector.shape[-1] != adm_channels:
        raise ValueError(f"{where}: the CLIP vision image embeds make a {vector.shape[-1]}-wide unCLIP vector but "
                         f"this unCLIP model takes {adm_channels} (use the CLIP vision model of its checkpoint)")
    return vector
