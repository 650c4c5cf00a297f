"""Euler-family samplers in sigma space: euler, euler_ancestral, heun, heunpp2, dpm_2,
dpm_2_ancestral, lms (after Karras et al. 2022 and k-diffusion's algorithms).

Each is `sample_<name>(model, x, sigmas, *, extra_args, callback, disable, ...) -> x` where x
starts at noise level sigmas[0] and the result is at sigmas[-1]. `disable` (a progress bar
switch in k-diffusion) is accepted for compatibility; progress goes through `callback`.
"""

from __future__ import annotations

import numpy as np
import torch

from diffusion.sampling.sampler_utils import ancestral_step, call_model, derivative, generator_noise, report


def sample_euler(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """First-order Euler steps along the probability-flow ODE."""
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        x = x + derivative(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
    return x


def sample_euler_ancestral(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                           s_noise=1.0, noise_sampler=None, seed=None):
    """Euler down to sigma_down, then fresh noise up to sigma_next (ancestral sampling)."""
    noise = generator_noise(x, noise_sampler, seed)
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        report(callback, i, x, sigmas[i], denoised)
        if sigma_down == 0:
            x = denoised
        else:
            x = x + derivative(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
            x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


def sample_heun(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """Heun's second-order method (trapezoid of two slopes); the last step to 0 is Euler."""
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        slope = derivative(x, sigmas[i], denoised)
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = x + slope * dt
            continue
        x_pred = x + slope * dt
        slope_next = derivative(x_pred, sigmas[i + 1], call_model(model, x_pred, sigmas[i + 1], extra_args))
        x = x + (slope + slope_next) / 2 * dt
    return x


def sample_heunpp2(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """ComfyUI's Heun++: up to three slopes per step, weighted by sigma relative to sigmas[0]."""
    last = sigmas[-1]
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        slope = derivative(x, sigmas[i], denoised)
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == last:
            x = x + slope * dt
            continue
        x_2 = x + slope * dt
        slope_2 = derivative(x_2, sigmas[i + 1], call_model(model, x_2, sigmas[i + 1], extra_args))
        if sigmas[i + 2] == last:
            w2 = sigmas[i + 1] / (2 * sigmas[0])
            x = x + (slope * (1 - w2) + slope_2 * w2) * dt
            continue
        x_3 = x_2 + slope_2 * (sigmas[i + 2] - sigmas[i + 1])
        slope_3 = derivative(x_3, sigmas[i + 2], call_model(model, x_3, sigmas[i + 2], extra_args))
        w2 = sigmas[i + 1] / (3 * sigmas[0])
        w3 = sigmas[i + 2] / (3 * sigmas[0])
        x = x + ((1 - w2 - w3) * slope + w2 * slope_2 + w3 * slope_3) * dt
    return x


def _log_midpoint(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a.log().lerp(b.log(), 0.5).exp()


def sample_dpm_2(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """DPM-Solver-2 in sigma space: the slope at the log-midpoint carries the whole step."""
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        slope = derivative(x, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = x + slope * (sigmas[i + 1] - sigmas[i])
            continue
        sigma_mid = _log_midpoint(sigmas[i], sigmas[i + 1])
        x_mid = x + slope * (sigma_mid - sigmas[i])
        slope_mid = derivative(x_mid, sigma_mid, call_model(model, x_mid, sigma_mid, extra_args))
        x = x + slope_mid * (sigmas[i + 1] - sigmas[i])
    return x


def sample_dpm_2_ancestral(model, x, sigmas, *, extra_args=None, callback=None, disable=None, eta=1.0,
                           s_noise=1.0, noise_sampler=None, seed=None):
    """DPM-Solver-2 down to sigma_down, then fresh noise up to sigma_next."""
    noise = generator_noise(x, noise_sampler, seed)
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        report(callback, i, x, sigmas[i], denoised)
        slope = derivative(x, sigmas[i], denoised)
        if sigma_down == 0:
            x = x + slope * (sigma_down - sigmas[i])
            continue
        sigma_mid = _log_midpoint(sigmas[i], sigma_down)
        x_mid = x + slope * (sigma_mid - sigmas[i])
        slope_mid = derivative(x_mid, sigma_mid, call_model(model, x_mid, sigma_mid, extra_args))
        x = x + slope_mid * (sigma_down - sigmas[i])
        x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


def _gauss_legendre(points: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(points)


def lms_coefficient(order: int, sigmas: np.ndarray, i: int, j: int) -> float:
    """Integral over [sigma_i, sigma_i+1] of the Lagrange basis polynomial of node sigma_(i-j)."""
    if order - 1 > i:
        raise ValueError(f"order {order} is too high for step {i}")
    nodes, weights = _gauss_legendre(max(order, 2))  # exact for the polynomial of degree order-1

    def basis(tau: np.ndarray) -> np.ndarray:
        product = np.ones_like(tau)
        for k in range(order):
            if k != j:
                product *= (tau - sigmas[i - k]) / (sigmas[i - j] - sigmas[i - k])
        return product

    a, b = sigmas[i], sigmas[i + 1]
    taus = (b - a) / 2 * nodes + (a + b) / 2
    return float((b - a) / 2 * np.sum(weights * basis(taus)))


def sample_lms(model, x, sigmas, *, extra_args=None, callback=None, disable=None, order=4):
    """Linear multistep: integrate the polynomial through the last `order` slopes."""
    sigmas_np = sigmas.detach().cpu().double().numpy()
    slopes: list[torch.Tensor] = []
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        slopes.append(derivative(x, sigmas[i], denoised))
        if len(slopes) > order:
            slopes.pop(0)
        current_order = min(i + 1, order)
        coefficients = [lms_coefficient(current_order, sigmas_np, i, j) for j in range(current_order)]
        x = x + sum(c * s for c, s in zip(coefficients, reversed(slopes), strict=True))
    return x
