"""Denoise-mask functions (model option denoise_mask_function, see model_hooks.py).

`differential_diffusion(strength)` (Differential Diffusion, Levin & Fried 2023; ComfyUI's node): at a
model call at noise level sigma, with t() the model's timestep of a sigma, t_from = t(sigmas[0]) and
t_to = t(max(sigma_min, sigmas[-1])), the threshold is (t(sigma) - t_to) / (t_from - t_to) (1 at the
first step, falling towards 0); the mask becomes 1 where the soft noise mask is >= the threshold and
0 elsewhere, so a pixel of mask m is repainted from the step where the threshold drops to m on. A
strength below 1 blends strength * that binary mask + (1 - strength) * the soft mask; strength 0 is
taken as 1, as ComfyUI does. When t_from == t_to (nothing left to schedule) the threshold is 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def differential_diffusion(strength: float = 1.0) -> Callable[[torch.Tensor, torch.Tensor, dict], torch.Tensor]:
    """A denoise_mask_function(sigma, denoise_mask, extra_options) -> the mask of this model call."""

    def function(sigma: torch.Tensor, denoise_mask: torch.Tensor, extra_options: dict) -> torch.Tensor:
        sampling = extra_options["model_sampling"]
        sigmas = extra_options["sigmas"]
        sigma_to = torch.maximum(torch.as_tensor(sampling.sigma_min, dtype=sigmas.dtype), sigmas[-1].cpu())
        ts_from = float(sampling.timestep(sigmas[0].reshape(1)))
        ts_to = float(sampling.timestep(sigma_to.reshape(1)))
        current = float(sampling.timestep(sigma.reshape(-1)[:1]))
        threshold = 0.0 if ts_from == ts_to else (current - ts_to) / (ts_from - ts_to)
        binary = (denoise_mask >= threshold).to(denoise_mask.dtype)
        if strength and strength < 1:
            return strength * binary + (1 - strength) * denoise_mask
        return binary

    return function
