"""ER-SDE-Solver-3 (Cui et al. 2023, arXiv:2309.06169): er_sde, an extended reverse-time SDE solver.

In the variance-exploding frame lambda is sigma itself. A step keeps the fraction
r = f(sigma') / f(sigma) of x, moves the rest to the denoised estimate, and adds noise of variance
sigma'^2 - r^2 sigma^2; f is the noise scaler, f(s) = s (e^(s^0.3) + 10) by default. Stages 2 and 3
add the first and second divided differences of earlier denoised estimates, with the integrals of
1 / f taken (as in ComfyUI) by a 200-point Riemann sum. The noise comes from a seeded generator.
"""

from __future__ import annotations

import torch

from diffusion.sampling.sampler_utils import call_model, generator_noise, report

INTEGRATION_POINTS = 200


def default_noise_scaler(sigma: torch.Tensor) -> torch.Tensor:
    """ER-SDE's default f(sigma) = sigma (e^(sigma^0.3) + 10)."""
    return sigma * ((sigma ** 0.3).exp() + 10.0)


def _integrals(scaler, sigma: torch.Tensor, sigma_next: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Riemann sums from sigma' toward sigma of 1 / f(s) and of (s - sigma) / f(s), signed by ds."""
    step = (sigma - sigma_next) / INTEGRATION_POINTS
    positions = sigma_next + torch.arange(INTEGRATION_POINTS, dtype=sigma.dtype, device=sigma.device) * step
    scaled = scaler(positions)
    return (1 / scaled).sum() * step, ((positions - sigma) / scaled).sum() * step


def sample_er_sde(model, x, sigmas, *, extra_args=None, callback=None, disable=None, s_noise=1.0, noise_sampler=None,
                  seed=None, noise_scaler=None, max_stage=3):
    """ER-SDE-Solver with up to `max_stage` (1 to 3) stages; the last step to sigma 0 returns D."""
    if max_stage not in (1, 2, 3):
        raise ValueError(f"max_stage must be 1, 2 or 3, got {max_stage!r}")
    scaler = default_noise_scaler if noise_scaler is None else noise_scaler
    noise = generator_noise(x, noise_sampler, seed) if s_noise > 0 else None
    previous = previous_difference = None
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = call_model(model, x, sigma, extra_args)
        report(callback, i, x, sigma, denoised)
        stage = min(max_stage, i + 1)
        if sigma_next == 0:
            x = denoised
            previous = denoised
            continue
        r = scaler(sigma_next) / scaler(sigma)
        x = r * x + (1 - r) * denoised
        if stage >= 2:
            dt = sigma_next - sigma
            inverse, weighted = _integrals(scaler, sigma, sigma_next)
            difference = (denoised - previous) / (sigma - sigmas[i - 1])
            x = x + (dt + inverse * scaler(sigma_next)) * difference
            if stage >= 3:
                second = (difference - previous_difference) / ((sigma - sigmas[i - 2]) / 2)
                x = x + (dt ** 2 / 2 + weighted * scaler(sigma_next)) * second
            previous_difference = difference
        if noise is not None:
            spread = (sigma_next ** 2 - sigma ** 2 * r ** 2).sqrt().nan_to_num(nan=0.0)
            x = x + noise(sigma, sigma_next) * s_noise * spread
        previous = denoised
    return x
