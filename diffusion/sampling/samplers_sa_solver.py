"""SA-Solver (Xue et al. 2023, arXiv:2309.05019): stochastic Adams predictor-corrector in data
prediction and lambda = -log(sigma): sa_solver and sa_solver_pece.

With stochasticity tau, a step from lambda_s to lambda_t is
x_t = (sigma_t / sigma_s) e^(-tau^2 h) x_s + sum_j b_j D_j + sigma_t sqrt(1 - e^(-2 tau^2 h)) z,
where b_j integrates (1 + tau^2) e^(-(1 + tau^2)(lambda_t - l)) times the Lagrange polynomial of
node j over [lambda_s, lambda_t]. The predictor extrapolates through the last denoised estimates;
the corrector then redoes the previous step including the new estimate (and PECE re-evaluates the
model at the corrected point). tau is 1 between the sigmas at 20% and 80% of the model's schedule
(SD's discrete schedule unless one is given) and 0 outside, as in ComfyUI.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.sampling.sampler_utils import call_model, generator_noise, report


def tau_interval(start_sigma: float, end_sigma: float, eta: float = 1.0) -> Callable[[torch.Tensor | float], float]:
    """tau(sigma) = eta for end_sigma <= sigma <= start_sigma, else 0 (eta <= 0: always 0, an ODE)."""

    def tau(sigma: torch.Tensor | float) -> float:
        level = float(sigma)
        return eta if eta > 0 and start_sigma >= level >= end_sigma else 0.0

    return tau


def adams_coefficients(nodes: torch.Tensor, lam_s: torch.Tensor, lam_t: torch.Tensor, tau: float) -> torch.Tensor:
    """b_j / alpha_t for the Lagrange basis through `nodes` (lambdas), integrated over [lam_s, lam_t].

    Shifting by lam_t keeps the numbers small: the moments m_p = k * integral of e^(k u) u^p du over
    [lam_s - lam_t, 0], with k = 1 + tau^2, follow m_p = -(s^p e^(k s)) - (p / k) m_(p-1), and the
    transposed Vandermonde system turns monomial moments into Lagrange-basis integrals.
    """
    k = 1.0 + tau ** 2
    nodes = nodes.double() - lam_t.double()
    start = (lam_s - lam_t).double()
    moments = []
    for p in range(len(nodes)):
        boundary = (0.0 if p else 1.0) - start ** p * (k * start).exp()
        moments.append(boundary if p == 0 else boundary - p / k * moments[-1])
    moments_t = torch.stack([torch.as_tensor(m, dtype=torch.float64) for m in moments])
    vandermonde_t = torch.vander(nodes, len(nodes), increasing=True).T
    return torch.linalg.solve(vandermonde_t, moments_t)


def _combine(coefficients: torch.Tensor, predictions: list[torch.Tensor]) -> torch.Tensor:
    return sum(c.to(predictions[0].dtype) * p for c, p in zip(coefficients, predictions, strict=True))


def sample_sa_solver(model, x, sigmas, *, extra_args=None, callback=None, disable=None, tau_func=None, s_noise=1.0,
                     noise_sampler=None, seed=None, predictor_order=3, corrector_order=4, use_pece=False,
                     schedule: DiscreteSchedule | None = None):
    """Stochastic Adams predictor (order <= 3) and corrector (order <= 4); orders drop near the end."""
    for name, order in (("predictor_order", predictor_order), ("corrector_order", corrector_order)):
        if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 6:
            raise ValueError(f"{name} must be an integer in 1..6, got {order!r}")
    if len(sigmas) <= 1:
        return x
    if tau_func is None:
        schedule = schedule or DiscreteSchedule()
        tau_func = tau_interval(schedule.percent_to_sigma(0.2), schedule.percent_to_sigma(0.8))
    noise = generator_noise(x, noise_sampler, seed) if s_noise > 0 else None
    lambdas = sigmas.log().neg()
    keep = max(predictor_order, corrector_order)
    lower_order_to_end = bool(sigmas[-1] == 0)
    x_pred, h, tau, step_noise = x, None, 0.0, None
    predictions: list[torch.Tensor] = []
    last = len(sigmas) - 1
    for i in range(last):
        denoised = call_model(model, x_pred, sigmas[i], extra_args)
        report(callback, i, x_pred, sigmas[i], denoised)
        predictions = [*predictions, denoised][-keep:]
        predictor_used = min(predictor_order, len(predictions))
        final = bool(sigmas[i + 1] == 0)
        corrector_used = 0 if i == 0 or (final and not use_pece) else min(corrector_order, len(predictions))
        if lower_order_to_end:
            predictor_used = min(predictor_used, last - 1 - i)
            corrector_used = min(corrector_used, last - i)
        if corrector_used == 0:
            x = x_pred
        else:
            b = adams_coefficients(lambdas[i - corrector_used + 1:i + 1], lambdas[i - 1], lambdas[i], tau)
            x = sigmas[i] / sigmas[i - 1] * (-(tau ** 2) * h).exp() * x + _combine(b, predictions[-corrector_used:])
            if step_noise is not None:
                x = x + step_noise
            if use_pece:
                denoised = call_model(model, x, sigmas[i], extra_args)
                predictions[-1] = denoised
        if final:
            x_pred = denoised
            continue
        tau = tau_func(sigmas[i + 1])
        b = adams_coefficients(lambdas[i - predictor_used + 1:i + 1], lambdas[i], lambdas[i + 1], tau)
        h = lambdas[i + 1] - lambdas[i]
        x_pred = sigmas[i + 1] / sigmas[i] * (-(tau ** 2) * h).exp() * x + _combine(b, predictions[-predictor_used:])
        step_noise = None
        if tau > 0 and noise is not None:
            spread = (-2 * tau ** 2 * h).expm1().neg().sqrt()
            step_noise = noise(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * spread * s_noise
            x_pred = x_pred + step_noise
    return x_pred


def sample_sa_solver_pece(model, x, sigmas, *, extra_args=None, callback=None, disable=None, tau_func=None,
                          s_noise=1.0, noise_sampler=None, seed=None, predictor_order=3, corrector_order=4,
                          schedule: DiscreteSchedule | None = None):
    """SA-Solver in PECE mode: predict, evaluate, correct, evaluate (two model calls per step)."""
    return sample_sa_solver(model, x, sigmas, extra_args=extra_args, callback=callback, tau_func=tau_func,
                            s_noise=s_noise, noise_sampler=noise_sampler, seed=seed, predictor_order=predictor_order,
                            corrector_order=corrector_order, use_pece=True, schedule=schedule)
