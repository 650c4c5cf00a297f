"""Second-order multistep samplers: res_multistep (+ _ancestral, + _cfg_pp variants) and
gradient_estimation (+ _cfg_pp).

- res_multistep: the RES multistep exponential integrator (Zhang et al. 2023, arXiv:2308.02157)
  in lambda = -log(sigma): x' = e^-h x + h (b1 D + b2 D_previous) with phi-function weights;
  the ancestral variants step down to sigma_down and add fresh noise sigma_up.
- gradient_estimation: Euler steps plus (gamma - 1) times the change of the slope since the last
  step (Permenter & Yuan, "Interpreting and improving diffusion models from an optimization
  perspective"); gamma = 2 by default.
The CFG++ variants take the step from the unconditional prediction (see `samplers_cfg_pp`).
"""

from __future__ import annotations

import torch

from diffusion.sampling.sampler_utils import ancestral_step, call_model, derivative, generator_noise, report
from diffusion.sampling.samplers_cfg_pp import guided_call


def _predict(model, x, sigma, extra_args, cfg_pp: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(D, the prediction the step is taken from): U for CFG++, else D itself."""
    if cfg_pp:
        return guided_call(model, x, sigma, extra_args)
    denoised = call_model(model, x, sigma, extra_args)
    return denoised, denoised


def _phi_weights(h: torch.Tensor, c2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RES weights of the current and the previous prediction (0 where c2 = 0 makes them undefined)."""
    phi_1 = torch.expm1(-h) / -h
    phi_2 = (phi_1 - 1.0) / -h
    b1 = torch.nan_to_num(phi_1 - phi_2 / c2, nan=0.0)
    b2 = torch.nan_to_num(phi_2 / c2, nan=0.0)
    return b1, b2


def res_multistep(model, x, sigmas, *, extra_args=None, callback=None, eta=0.0, s_noise=1.0, noise_sampler=None,
                  seed=None, cfg_pp=False):
    """The RES multistep loop shared by the four res_multistep samplers."""
    noise = generator_noise(x, noise_sampler, seed) if eta else None
    previous = previous_sigma_down = None
    for i in range(len(sigmas) - 1):
        denoised, base = _predict(model, x, sigmas[i], extra_args, cfg_pp)
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        report(callback, i, x, sigmas[i], denoised)
        if sigma_down == 0 or previous is None:
            if cfg_pp:
                x = denoised + sigma_down * derivative(x, sigmas[i], base)
            else:
                x = x + derivative(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
        else:
            lam, lam_next = sigmas[i].log().neg(), sigma_down.log().neg()
            h = lam_next - lam
            # As in ComfyUI: the previous node's distance is measured from the previous step's sigma_down.
            c2 = (sigmas[i - 1].log().neg() - previous_sigma_down.log().neg()) / h
            b1, b2 = _phi_weights(h, c2)
            if cfg_pp:
                x = x + (denoised - base)
            x = (-h).exp() * x + h * (b1 * base + b2 * previous)
        if noise is not None and sigmas[i + 1] > 0:
            x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
        previous, previous_sigma_down = base, sigma_down
    return x


def sample_res_multistep(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """RES second-order multistep (deterministic)."""
    return res_multistep(model, x, sigmas, extra_args=extra_args, callback=callback)


def sample_res_multistep_cfg_pp(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """RES second-order multistep with CFG++ (deterministic)."""
    return res_multistep(model, x, sigmas, extra_args=extra_args, callback=callback, cfg_pp=True)


def sample_res_multistep_ancestral(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                                   s_noise=1.0, noise_sampler=None, seed=None):
    """RES multistep down to sigma_down, then fresh noise up to sigma_next."""
    return res_multistep(model, x, sigmas, extra_args=extra_args, callback=callback, eta=eta, s_noise=s_noise,
                         noise_sampler=noise_sampler, seed=seed)


def sample_res_multistep_ancestral_cfg_pp(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                                          s_noise=1.0, noise_sampler=None, seed=None):
    """RES multistep ancestral with CFG++."""
    return res_multistep(model, x, sigmas, extra_args=extra_args, callback=callback, eta=eta, s_noise=s_noise,
                         noise_sampler=noise_sampler, seed=seed, cfg_pp=True)


def sample_gradient_estimation(model, x, sigmas, *, extra_args=None, callback=None, disable=None, ge_gamma=2.0,
                               cfg_pp=False):
    """Euler steps corrected by (ge_gamma - 1) times the slope's change since the previous step."""
    previous_slope = None
    for i in range(len(sigmas) - 1):
        denoised, base = _predict(model, x, sigmas[i], extra_args, cfg_pp)
        slope = derivative(x, sigmas[i], base)
        report(callback, i, x, sigmas[i], denoised)
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            x = denoised + slope * sigmas[i + 1] if cfg_pp else x + slope * dt
            if previous_slope is not None:
                x = x + (ge_gamma - 1) * (slope - previous_slope) * dt
        previous_slope = slope
    return x


def sample_gradient_estimation_cfg_pp(model, x, sigmas, *, extra_args=None, callback=None, disable=None,
                                      ge_gamma=2.0):
    """Gradient estimation with CFG++."""
    return sample_gradient_estimation(model, x, sigmas, extra_args=extra_args, callback=callback, ge_gamma=ge_gamma,
                                      cfg_pp=True)
