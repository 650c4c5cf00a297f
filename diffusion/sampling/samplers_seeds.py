"""SEEDS (Gonzalez et al. 2023, arXiv:2305.14267): stochastic explicit exponential derivative-free
solvers in data prediction and lambda = -log(sigma): seeds_2, seeds_3, and the exponential Heun
methods exp_heun_2_x0 (deterministic) and exp_heun_2_x0_sde (seeds_2 with its stage at the step end).

A stage from sigma to sigma_r = sigma e^-(r h) keeps e^-(r h eta) of x and moves the rest toward the
data; eta = 0 gives the probability-flow ODE, eta > 0 the SDE, whose noise is carried from stage to
stage so the step's total noise is consistent. The noise comes from a generator seeded with `seed`.
"""

from __future__ import annotations

import torch

from diffusion.sampling.sampler_utils import call_model, generator_noise, report


def _phi_1(z: torch.Tensor) -> torch.Tensor:
    """z * phi_1(z) = e^z - 1."""
    return torch.expm1(z)


def _phi_2(z: torch.Tensor) -> torch.Tensor:
    """z * phi_2(z) = (e^z - 1 - z) / z."""
    return (torch.expm1(z) - z) / z


def _keep(sigma_to, sigma_from, fraction, h, eta):
    """The factor on x of a stage covering `fraction` of the step."""
    return sigma_to / sigma_from * (-fraction * h * eta).exp()


def _carry(noise_so_far, fraction_from, fraction_to, h, eta, fresh):
    """The SDE noise at the end of a stage, from the noise at its start and fresh unit noise."""
    segment = (fraction_from - fraction_to) * h * eta
    return noise_so_far * segment.exp() + (2 * segment).expm1().neg().sqrt() * fresh


def sample_seeds_2(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0,
                   noise_sampler=None, seed=None, r=0.5, solver_type="phi_1"):
    """SEEDS-2: one intermediate stage at lambda + r h; solver_type "phi_1" (blend) or "phi_2" (weights)."""
    if solver_type not in ("phi_1", "phi_2"):
        raise ValueError(f"solver_type must be 'phi_1' or 'phi_2', got {solver_type!r}")
    inject = bool(eta > 0 and s_noise > 0)
    noise = generator_noise(x, noise_sampler, seed) if inject else None
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = call_model(model, x, sigma, extra_args)
        report(callback, i, x, sigma, denoised)
        if sigma_next == 0:
            x = denoised
            continue
        h = sigma.log() - sigma_next.log()
        h_eta = h * (eta + 1)
        sigma_1 = (sigma.log() - r * h).exp()
        x_1 = _keep(sigma_1, sigma, r, h, eta) * x - _phi_1(-r * h_eta) * denoised
        if inject:
            sde = (-2 * r * h * eta).expm1().neg().sqrt() * noise(sigma, sigma_1)
            x_1 = x_1 + sde * sigma_1 * s_noise
        denoised_1 = call_model(model, x_1, sigma_1, extra_args)
        if solver_type == "phi_1":
            blended = torch.lerp(denoised, denoised_1, 1 / (2 * r))
            x = _keep(sigma_next, sigma, 1, h, eta) * x - _phi_1(-h_eta) * blended
        else:
            b2 = _phi_2(-h_eta) / r
            b1 = _phi_1(-h_eta) - b2
            x = _keep(sigma_next, sigma, 1, h, eta) * x - (b1 * denoised + b2 * denoised_1)
        if inject:
            sde = _carry(sde, r, 1, h, eta, noise(sigma_1, sigma_next))
            x = x + sde * sigma_next * s_noise
    return x


def sample_exp_heun_2_x0(model, x, sigmas, *, extra_args=None, callback=None, disable=None, solver_type="phi_2"):
    """Deterministic exponential Heun (second order) in data prediction and log-SNR time."""
    return sample_seeds_2(model, x, sigmas, extra_args=extra_args, callback=callback, eta=0.0, s_noise=0.0, r=1.0,
                          solver_type=solver_type)


def sample_exp_heun_2_x0_sde(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0,
                             noise_sampler=None, seed=None, solver_type="phi_2"):
    """Stochastic exponential Heun (second order) in data prediction and log-SNR time."""
    return sample_seeds_2(model, x, sigmas, extra_args=extra_args, callback=callback, eta=eta, s_noise=s_noise,
                          noise_sampler=noise_sampler, seed=seed, r=1.0, solver_type=solver_type)


def sample_seeds_3(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0,
                   noise_sampler=None, seed=None, r_1=1.0 / 3, r_2=2.0 / 3):
    """SEEDS-3: stages at lambda + r_1 h and lambda + r_2 h, third order without noise."""
    inject = bool(eta > 0 and s_noise > 0)
    noise = generator_noise(x, noise_sampler, seed) if inject else None
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = call_model(model, x, sigma, extra_args)
        report(callback, i, x, sigma, denoised)
        if sigma_next == 0:
            x = denoised
            continue
        h = sigma.log() - sigma_next.log()
        h_eta = h * (eta + 1)
        sigma_1 = (sigma.log() - r_1 * h).exp()
        sigma_2 = (sigma.log() - r_2 * h).exp()
        x_1 = _keep(sigma_1, sigma, r_1, h, eta) * x - _phi_1(-r_1 * h_eta) * denoised
        if inject:
            sde = (-2 * r_1 * h * eta).expm1().neg().sqrt() * noise(sigma, sigma_1)
            x_1 = x_1 + sde * sigma_1 * s_noise
        denoised_1 = call_model(model, x_1, sigma_1, extra_args)
        a2 = r_2 / r_1 * _phi_2(-r_2 * h_eta)
        a1 = _phi_1(-r_2 * h_eta) - a2
        x_2 = _keep(sigma_2, sigma, r_2, h, eta) * x - (a1 * denoised + a2 * denoised_1)
        if inject:
            sde = _carry(sde, r_1, r_2, h, eta, noise(sigma_1, sigma_2))
            x_2 = x_2 + sde * sigma_2 * s_noise
        denoised_2 = call_model(model, x_2, sigma_2, extra_args)
        b3 = _phi_2(-h_eta) / r_2
        b1 = _phi_1(-h_eta) - b3
        x = _keep(sigma_next, sigma, 1, h, eta) * x - (b1 * denoised + b3 * denoised_2)
        if inject:
            sde = _carry(sde, r_2, 1, h, eta, noise(sigma_2, sigma_next))
            x = x + sde * sigma_next * s_noise
    return x
