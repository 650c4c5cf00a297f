"""Small pieces every sampler shares: derivative, ancestral split, callbacks, noise samplers.

Conventions (k-diffusion's): `model(x, sigma_batch, **extra_args)` returns the denoised estimate
D(x, sigma); the probability-flow ODE is dx/dsigma = (x - D) / sigma; sigmas decrease to 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from diffusion.sampling.noise import BrownianTreeNoiseSampler, GeneratorNoiseSampler, NoiseSampler

StepCallback = Callable[[dict[str, Any]], None]


def derivative(x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor) -> torch.Tensor:
    """dx/dsigma of the probability-flow ODE (Karras et al. eq. 3)."""
    return (x - denoised) / sigma


def ancestral_step(sigma: torch.Tensor, sigma_next: torch.Tensor, eta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a step sigma -> sigma_next into a deterministic part down to sigma_down and fresh noise sigma_up."""
    if not eta:
        return sigma_next, torch.zeros_like(sigma_next)
    sigma_up = torch.minimum(sigma_next, eta * (sigma_next ** 2 * (sigma ** 2 - sigma_next ** 2) / sigma ** 2) ** 0.5)
    sigma_down = (sigma_next ** 2 - sigma_up ** 2) ** 0.5
    return sigma_down, sigma_up


def call_model(model, x: torch.Tensor, sigma: torch.Tensor, extra_args: dict | None) -> torch.Tensor:
    """Evaluate the denoiser at one noise level for the whole batch."""
    sigma_batch = sigma * x.new_ones([x.shape[0]])
    return model(x, sigma_batch, **(extra_args or {}))


def report(callback: StepCallback | None, i: int, x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor,
           sigma_hat: torch.Tensor | None = None) -> None:
    """Tell the caller a step began: index, current x, its sigma and the denoised prediction."""
    if callback is not None:
        callback({"i": i, "x": x, "sigma": sigma, "sigma_hat": sigma if sigma_hat is None else sigma_hat,
                  "denoised": denoised})


def generator_noise(x: torch.Tensor, noise_sampler: NoiseSampler | None, seed: int | None) -> NoiseSampler:
    """The given noise sampler, else one from a generator seeded with `seed` (required then)."""
    if noise_sampler is not None:
        return noise_sampler
    if seed is None:
        raise ValueError("this sampler is stochastic: pass seed= or noise_sampler=")
    return GeneratorNoiseSampler(x, seed)


def brownian_noise(x: torch.Tensor, sigmas: torch.Tensor, noise_sampler: NoiseSampler | None,
                   seed: int | None) -> NoiseSampler:
    """The given noise sampler, else a CPU Brownian tree over the positive sigmas seeded with `seed`."""
    if noise_sampler is not None:
        return noise_sampler
    if seed is None:
        raise ValueError("this SDE sampler is stochastic: pass seed= or noise_sampler=")
    positive = sigmas[sigmas > 0]
    return BrownianTreeNoiseSampler(x, positive.min(), sigmas.max(), seed)
