"""LCM sampling that upscales the latent between steps (ComfyUI's SamplerLCMUpscale).

Each step jumps to the denoised estimate, resizes it by the next factor of an even ramp from 1 to
`total_upscale` (over `upscale_steps` steps, default about half of them), and re-noises it to
the next sigma. The noise is drawn from a generator seeded as `GeneratorNoiseSampler` seeds it, so
without resizing this is exactly the `lcm` sampler (ComfyUI draws it from torch's global RNG).
Conditioning masks and noise masks are made for the starting size and cannot follow the resize.
"""

from __future__ import annotations

import numpy as np
import torch

from diffusion.imaging.resample import resize
from diffusion.sampling.noise import MAX_SEED, check_seed
from diffusion.sampling.sampler_utils import call_model, report

UPSCALE_METHODS = ("bislerp", "nearest-exact", "bilinear", "area", "bicubic")


def upscale_factors(step_count: int, total_upscale: float, upscale_steps: int | None) -> np.ndarray:
    """The resize factor after each of the first steps (relative to the starting size)."""
    if upscale_steps is None:
        points = max(step_count // 2 + 1, 2)
    else:
        points = min(upscale_steps + 1, step_count + 1)
    return np.linspace(1.0, total_upscale, points)[1:]


def sample_lcm_upscale(model, x, sigmas, *, extra_args=None, callback=None, disable=None, seed=None,
                       total_upscale=2.0, upscale_method="bislerp", upscale_steps=None):
    """LCM steps with the latent resized by `upscale_factors` after each of the first steps."""
    if upscale_method not in UPSCALE_METHODS:
        raise ValueError(f"unknown upscale_method {upscale_method!r}; expected one of {', '.join(UPSCALE_METHODS)}")
    if seed is None:
        raise ValueError("this sampler is stochastic: pass seed=")
    check_seed(seed)
    generator = torch.Generator(device=x.device)
    generator.manual_seed((seed + 1) % (MAX_SEED + 1) if x.device.type == "cpu" else seed)
    factors = upscale_factors(len(sigmas), total_upscale, upscale_steps)
    height, width = x.shape[-2], x.shape[-1]
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        x = denoised
        if i < len(factors):
            x = resize(x, round(width * float(factors[i])), round(height * float(factors[i])), upscale_method)
        if sigmas[i + 1] > 0:
            x = x + torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=generator) * sigmas[i + 1]
    return x
