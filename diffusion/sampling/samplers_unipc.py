"""UniPC (Zhao et al. 2023), multistep predictor-corrector with data prediction: uni_pc and uni_pc_bh2.

Written in the variance-exploding frame the other samplers use (x = x0 + sigma*eps) with
lambda = -log(sigma); the update is algebraically the same as the paper's VP form. As in
ComfyUI, a final sigma of 0 is replaced by 0.001 (the solver needs a finite lambda), the order
is min(3, steps - 1), lower orders are used for the first and last steps, and each step's
corrector reuses the model evaluation made at the predicted point, so one evaluation per step.
Variant "bh1" uses B(h) = h, "bh2" uses B(h) = e^h - 1.
"""

from __future__ import annotations

import torch

from diffusion.sampling.sampler_utils import call_model, report

FINAL_SIGMA = 0.001


def _coefficients(rks: list[torch.Tensor], hh: torch.Tensor, order: int, variant: str, dtype):
    """The linear systems' matrix R and right-hand side b of UniPC's order conditions."""
    rk = torch.stack([r.to(dtype) for r in rks] + [torch.ones((), dtype=dtype, device=hh.device)])
    h_phi_1 = torch.expm1(hh)
    h_phi_k = h_phi_1 / hh - 1
    factorial = 1
    b_h = hh if variant == "bh1" else torch.expm1(hh)
    rows, rhs = [], []
    for i in range(1, order + 1):
        rows.append(rk ** (i - 1))
        rhs.append(h_phi_k * factorial / b_h)
        factorial *= i + 1
        h_phi_k = h_phi_k / hh - 1 / factorial
    return torch.stack(rows), torch.stack(rhs).to(dtype), h_phi_1, b_h


def _update(model, x, denoised_list, sigma_list, sigma_t, order, variant, use_corrector, extra_args):
    """One UniPC step from sigma_list[-1] to sigma_t; returns (x_t, D(x_t) if it was evaluated)."""
    sigma_0, denoised_0 = sigma_list[-1], denoised_list[-1]
    lam_0, lam_t = -sigma_0.log(), -sigma_t.log()
    h = lam_t - lam_0
    rks, diffs = [], []
    for i in range(1, order):
        rk = (-sigma_list[-(i + 1)].log() - lam_0) / h
        rks.append(rk)
        diffs.append((denoised_list[-(i + 1)] - denoised_0) / rk)
    R, b, h_phi_1, b_h = _coefficients(rks, -h, order, variant, x.dtype)
    x_base = (sigma_t / sigma_0) * x - h_phi_1 * denoised_0
    if diffs:
        rhos_p = torch.tensor([0.5], dtype=x.dtype, device=x.device) if order == 2 else torch.linalg.solve(R[:-1, :-1], b[:-1])
        x_t = x_base - b_h * sum(rho * d for rho, d in zip(rhos_p, diffs, strict=True))
    else:
        x_t = x_base
    if not use_corrector:
        return x_t, None
    rhos_c = torch.tensor([0.5], dtype=x.dtype, device=x.device) if order == 1 else torch.linalg.solve(R, b)
    denoised_t = call_model(model, x_t, sigma_t, extra_args)
    correction = rhos_c[-1] * (denoised_t - denoised_0)
    if diffs:
        correction = correction + sum(rho * d for rho, d in zip(rhos_c[:-1], diffs, strict=True))
    return x_base - b_h * correction, denoised_t


def _sample_unipc(model, x, sigmas, extra_args, callback, variant):
    if len(sigmas) <= 1:
        return x
    sigmas = sigmas.clone()
    if sigmas[-1] == 0:
        sigmas[-1] = FINAL_SIGMA
    steps = len(sigmas) - 1
    order = max(1, min(3, steps - 1))
    denoised = call_model(model, x, sigmas[0], extra_args)
    report(callback, 0, x, sigmas[0], denoised)
    denoised_list, sigma_list = [denoised], [sigmas[0]]
    for step in range(1, steps + 1):
        step_order = min(step, order, steps + 1 - step)
        use_corrector = step < steps
        x, denoised_t = _update(model, x, denoised_list, sigma_list, sigmas[step], step_order, variant,
                                use_corrector, extra_args)
        if step == steps:
            break
        if denoised_t is None:
            denoised_t = call_model(model, x, sigmas[step], extra_args)
        denoised_list.append(denoised_t)
        sigma_list.append(sigmas[step])
        if len(denoised_list) > order:
            denoised_list.pop(0)
            sigma_list.pop(0)
        report(callback, step, x, sigmas[step], denoised_t)
    return x


def sample_uni_pc(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """UniPC with B(h) = h (ComfyUI's `uni_pc`)."""
    return _sample_unipc(model, x, sigmas, extra_args, callback, "bh1")


def sample_uni_pc_bh2(model, x, sigmas, *, extra_args=None, callback=None, disable=None):
    """UniPC with B(h) = e^h - 1 (ComfyUI's `uni_pc_bh2`)."""
    return _sample_unipc(model, x, sigmas, extra_args, callback, "bh2")
