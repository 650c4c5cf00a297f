"""ComfyUI's `comfy.sample` for packs: prepare_noise, fix_empty_latent_channels, sample, sample_custom.

These are the calls ComfyUI's KSampler and SamplerCustom nodes make, answered by diffusion/sampling
with the same noise, sigmas and sampling as latentgraph's nodes: `sample(...)` for a seed equals the
KSampler node's LATENT for that seed. `sampler` values are
what KSamplerSelect outputs (comfy.samplers.sampler_object). The model is loaded on its compute device through the current runtime first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from diffusion.sampling import noise as _noise
from diffusion.sampling.guided import Guider, sample_guided
from diffusion.sampling.sampler_options import configured_sampler
from diffusion.sampling.sampling_setup import fit_latent_channels
from nodes.compat.comfy.samplers import KSampler, is_sampler_value, load_model_for_sampling

__all__ = ["fix_empty_latent_channels", "prepare_noise", "sample", "sample_custom"]


def prepare_noise(latent_image: torch.Tensor, seed: int, noise_inds: Sequence[int] | None = None) -> torch.Tensor:
    """ComfyUI's initial noise for a latent (one generator per batch index when `noise_inds` is given)."""
    return _noise.prepare_noise(latent_image, seed, noise_inds)


def fix_empty_latent_channels(model: Any, latent_image: torch.Tensor) -> torch.Tensor:
    """An all-zero latent widened to the model's channels; any other latent as is (a mismatch raises)."""
    return fit_latent_channels(model, latent_image)


def sample(model: Any, noise: torch.Tensor, steps: int, cfg: float, sampler_name: str, scheduler: str,
           positive: list, negative: list, latent_image: torch.Tensor, denoise: float = 1.0,
           disable_noise: bool = False, start_step: int | None = None, last_step: int | None = None,
           force_full_denoise: bool = False, noise_mask: torch.Tensor | None = None,
           sigmas: torch.Tensor | None = None, callback: Any = None, disable_pbar: bool = False,
           seed: int | None = None) -> torch.Tensor:
    """KSampler's sampling: the denoised latent (unscaled, CPU)."""
    latent_image = fit_latent_channels(model, latent_image)
    if disable_noise:
        noise = torch.zeros_like(latent_image)
    sampler = KSampler(model, steps=steps, sampler=sampler_name, scheduler=scheduler, denoise=denoise)
    return sampler.sample(noise, positive, negative, cfg=cfg, latent_image=latent_image, start_step=start_step,
                          last_step=last_step, force_full_denoise=force_full_denoise, denoise_mask=noise_mask,
                          sigmas=sigmas, callback=callback, disable_pbar=disable_pbar, seed=seed)


def sample_custom(model: Any, noise: torch.Tensor, cfg: float, sampler: Any, sigmas: torch.Tensor, positive: list,
                  negative: list, latent_image: torch.Tensor, noise_mask: torch.Tensor | None = None,
                  callback: Any = None, disable_pbar: bool = False, seed: int | None = None) -> torch.Tensor:
    """SamplerCustom's sampling along explicit `sigmas` with a SAMPLER value."""
    if not is_sampler_value(sampler):
        raise TypeError("comfy.sample.sample_custom: sampler must be a SAMPLER value (comfy.samplers.sampler_object "
                        f"or KSamplerSelect), got {type(sampler).__name__}")
    load_model_for_sampling(model)
    samples, _ = sample_guided(Guider(model, "cfg", (positive, negative), cfg=cfg), noise,
                               configured_sampler(sampler.name, dict(sampler.options)), sigmas,
                               fit_latent_channels(model, latent_image), noise_mask=noise_mask, seed=seed,
                               callback=callback)
    return samples


def __getattr__(name: str):
    raise AttributeError(f"module 'comfy.sample' has no attribute {name!r}: latentgraph provides {', '.join(__all__)}")
