"""DPM-Solver++ family and friends, working in lambda = -log(sigma) with data prediction:
dpmpp_2s_ancestral, dpmpp_sde, dpmpp_2m, dpmpp_2m_sde, dpmpp_3m_sde, plus ddpm and lcm.

Exact exponential-integrator step from sigma to sigma' with a fixed denoised D:
x' = (sigma'/sigma) x - expm1(-h) D, with h = log(sigma/sigma'). Higher orders correct D with
earlier (multistep) or intermediate (singlestep) predictions. SDE variants add noise with
eta > 0; the SDE samplers' noise comes from a CPU Brownian tree seeded with `seed`.
"""

from __future__ import annotations

import torch

from diffusion.sampling.sampler_utils import (
    ancestral_step,
    brownian_noise,
    call_model,
    derivative,
    generator_noise,
    report,
)


def _lam(sigma: torch.Tensor) -> torch.Tensor:
    return sigma.log().neg()


def _sigma(lam: torch.Tensor) -> torch.Tensor:
    return lam.neg().exp()


def sample_dpmpp_2s_ancestral(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                              s_noise=1.0, noise_sampler=None, seed=None):
    """Two-stage DPM-Solver++(2S) down to sigma_down, then fresh noise up to sigma_next."""
    noise = generator_noise(x, noise_sampler, seed)
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        report(callback, i, x, sigmas[i], denoised)
        if sigma_down == 0:
            x = x + derivative(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
        else:
            lam, lam_next = _lam(sigmas[i]), _lam(sigma_down)
            h = lam_next - lam
            lam_mid = lam + h / 2
            x_mid = (_sigma(lam_mid) / _sigma(lam)) * x - (-h / 2).expm1() * denoised
            denoised_mid = call_model(model, x_mid, _sigma(lam_mid), extra_args)
            x = (_sigma(lam_next) / _sigma(lam)) * x - (-h).expm1() * denoised_mid
        if sigmas[i + 1] > 0:
            x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


def sample_dpmpp_sde(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0,
                     noise_sampler=None, seed=None, r=0.5):
    """DPM-Solver++ (stochastic, singlestep): an intermediate stage at lambda + r*h, both with noise."""
    if len(sigmas) <= 1:
        return x
    noise = brownian_noise(x, sigmas, noise_sampler, seed) if eta else None
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = x + derivative(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
            continue
        lam, lam_next = _lam(sigmas[i]), _lam(sigmas[i + 1])
        h = lam_next - lam
        lam_stage = lam + h * r
        weight = 1 / (2 * r)
        # Stage 1: to sigma(lam_stage), partly deterministic, partly fresh noise.
        sigma_down, sigma_up = ancestral_step(_sigma(lam), _sigma(lam_stage), eta)
        lam_down = _lam(sigma_down)
        x_stage = (_sigma(lam_down) / _sigma(lam)) * x - (lam - lam_down).expm1() * denoised
        if noise is not None:
            x_stage = x_stage + noise(_sigma(lam), _sigma(lam_stage)) * s_noise * sigma_up
        denoised_stage = call_model(model, x_stage, _sigma(lam_stage), extra_args)
        # Stage 2: the full step with a blended denoised estimate.
        sigma_down, sigma_up = ancestral_step(_sigma(lam), _sigma(lam_next), eta)
        lam_down = _lam(sigma_down)
        blended = (1 - weight) * denoised + weight * denoised_stage
        x = (_sigma(lam_down) / _sigma(lam)) * x - (lam - lam_down).expm1() * blended
        if noise is not None:
            x = x + noise(_sigma(lam), _sigma(lam_next)) * s_noise * sigma_up
    return x


def sample_dpmpp_2m(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """DPM-Solver++(2M): second-order multistep, extrapolating D from the previous step."""
    previous = None
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        lam, lam_next = _lam(sigmas[i]), _lam(sigmas[i + 1])
        h = lam_next - lam
        if previous is None or sigmas[i + 1] == 0:
            estimate = denoised
        else:
            ratio = (lam - _lam(sigmas[i - 1])) / h
            estimate = (1 + 1 / (2 * ratio)) * denoised - (1 / (2 * ratio)) * previous
        x = (_sigma(lam_next) / _sigma(lam)) * x - (-h).expm1() * estimate
        previous = denoised
    return x


def sample_dpmpp_2m_sde(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                        s_noise=1.0, noise_sampler=None, seed=None, solver_type="midpoint"):
    """DPM-Solver++(2M) SDE; eta=0 makes it an ODE solver. solver_type: "midpoint" or "heun"."""
    if solver_type not in ("midpoint", "heun"):
        raise ValueError(f"solver_type must be 'midpoint' or 'heun', got {solver_type!r}")
    if len(sigmas) <= 1:
        return x
    noise = brownian_noise(x, sigmas, noise_sampler, seed) if eta else None
    previous = None
    h_last = None
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            h = _lam(sigmas[i + 1]) - _lam(sigmas[i])
            eta_h = eta * h
            decay = (-h - eta_h).expm1().neg()
            x = sigmas[i + 1] / sigmas[i] * (-eta_h).exp() * x + decay * denoised
            if previous is not None:
                ratio = h_last / h
                if solver_type == "heun":
                    x = x + (decay / (-h - eta_h) + 1) * (1 / ratio) * (denoised - previous)
                else:
                    x = x + 0.5 * decay * (1 / ratio) * (denoised - previous)
            if noise is not None:
                x = x + noise(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * (-2 * eta_h).expm1().neg().sqrt() * s_noise
            h_last = h
        previous = denoised
    return x


def sample_dpmpp_3m_sde(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                        s_noise=1.0, noise_sampler=None, seed=None):
    """DPM-Solver++(3M) SDE: third-order multistep; eta=0 makes it an ODE solver."""
    if len(sigmas) <= 1:
        return x
    noise = brownian_noise(x, sigmas, noise_sampler, seed) if eta else None
    d_1 = d_2 = None  # denoised of the previous two steps
    h = h_1 = h_2 = None
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            h = _lam(sigmas[i + 1]) - _lam(sigmas[i])
            h_eta = h * (eta + 1)
            x = torch.exp(-h_eta) * x + (-h_eta).expm1().neg() * denoised
            phi_2 = h_eta.neg().expm1() / h_eta + 1
            if h_2 is not None:
                r0, r1 = h_1 / h, h_2 / h
                diff_0 = (denoised - d_1) / r0
                diff_1 = (d_1 - d_2) / r1
                first = diff_0 + (diff_0 - diff_1) * r0 / (r0 + r1)
                second = (diff_0 - diff_1) / (r0 + r1)
                phi_3 = phi_2 / h_eta - 0.5
                x = x + phi_2 * first - phi_3 * second
            elif h_1 is not None:
                x = x + phi_2 * (denoised - d_1) / (h_1 / h)
            if noise is not None:
                x = x + noise(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        d_1, d_2 = denoised, d_1
        h_1, h_2 = h, h_1
    return x


def sample_ddpm(model, x, sigmas, *, extra_args=None, callback=None, disable=None, noise_sampler=None, seed=None):
    """DDPM ancestral sampling (the posterior mean plus posterior noise), in the variance-preserving frame."""
    noise = generator_noise(x, noise_sampler, seed)
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = call_model(model, x, sigma, extra_args)
        report(callback, i, x, sigma, denoised)
        eps = (x - denoised) / sigma
        alphabar = 1 / (sigma * sigma + 1)
        alphabar_next = 1 / (sigma_next * sigma_next + 1)
        alpha = alphabar / alphabar_next
        x_vp = x / torch.sqrt(1.0 + sigma ** 2)
        x_vp = (1.0 / alpha).sqrt() * (x_vp - (1 - alpha) * eps / (1 - alphabar).sqrt())
        if sigma_next > 0:
            x_vp = x_vp + ((1 - alpha) * (1.0 - alphabar_next) / (1.0 - alphabar)).sqrt() * noise(sigma, sigma_next)
            x = x_vp * torch.sqrt(1.0 + sigma_next ** 2)
        else:
            x = x_vp
    return x


def sample_lcm(model, x, sigmas, *, extra_args=None, callback=None, disable=None, noise_sampler=None, seed=None):
    """Latent-consistency sampling: jump to the denoised estimate, re-noise to the next sigma."""
    noise = generator_noise(x, noise_sampler, seed)
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        x = denoised
        if sigmas[i + 1] > 0:
            x = x + noise(sigmas[i], sigmas[i + 1]) * sigmas[i + 1]
    return x
