"""Linear multistep samplers on the sigma-space ODE slope d = (x - D) / sigma: ipndm, ipndm_v, deis.

All three reuse the slopes of earlier steps (one model evaluation per step) and finish a step
that ends at sigma 0 by jumping to the denoised estimate (an Euler step to 0):
- ipndm: Adams-Bashforth with the fixed equal-step weights, up to fourth order;
- ipndm_v: the same with weights that follow the actual (unequal) step sizes;
- deis: Adams-Bashforth in the time t of a VP diffusion (the "tAB" variant of DEIS), whose
  weights integrate dsigma/dt times the Lagrange polynomials through the earlier times.
ComfyUI's versions come from zju-pi/diff-sampler; these follow their update rules.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from diffusion.sampling.sampler_utils import call_model, derivative, report
from diffusion.sampling.samplers_euler import lms_coefficient

# Equal-step Adams-Bashforth weights, newest slope first.
_ADAMS_BASHFORTH = {1: (1.0,), 2: (3 / 2, -1 / 2), 3: (23 / 12, -16 / 12, 5 / 12),
                    4: (55 / 24, -59 / 24, 37 / 24, -9 / 24)}


def _check_order(max_order: int, highest: int) -> int:
    if isinstance(max_order, bool) or not isinstance(max_order, int) or not 1 <= max_order <= highest:
        raise ValueError(f"max_order must be an integer in 1..{highest}, got {max_order!r}")
    return max_order


def sample_ipndm(model, x, sigmas, *, extra_args=None, callback=None, disable=None, max_order=4):
    """Improved PNDM: Adams-Bashforth steps with the equal-step weights (orders ramp up from 1)."""
    _check_order(max_order, 4)
    slopes: list[torch.Tensor] = []  # newest first
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        slopes.insert(0, derivative(x, sigmas[i], denoised))
        del slopes[max_order:]
        if sigmas[i + 1] == 0:
            x = denoised
            continue
        weights = _ADAMS_BASHFORTH[min(max_order, i + 1)]
        x = x + (sigmas[i + 1] - sigmas[i]) * sum(w * s for w, s in zip(weights, slopes, strict=False))
    return x


def ipndm_v_weights(steps: list[float]) -> tuple[float, ...]:
    """iPNDM-v weights (orders 1 to 3) of the newest slopes for the step steps[0] after steps[1:] (signed)."""
    order = len(steps)
    if order == 1:
        return (1.0,)
    h, h1 = steps[0], steps[1]
    first = (2 + h / h1) / 2
    second = -(h / h1) / 2
    if order == 2:
        return first, second
    h2 = steps[2]
    extra = (1 - h / (3 * (h + h1)) * (h * (h + h1)) / (h1 * (h1 + h2))) / 2
    return first + extra, second - (1 + h1 / h2) * extra, extra * h1 / h2


def sample_ipndm_v(model, x, sigmas, *, extra_args=None, callback=None, disable=None, max_order=4):
    """Improved PNDM with variable-step weights (follows uneven schedules such as Karras').

    ComfyUI's fourth-order weights do not sum to one (35/24 on equal steps instead of 1), so its
    fourth-order steps drift off the ODE; here the fourth-order step integrates the cubic through the
    last four slopes exactly (variable-step Adams-Bashforth, as `lms` does), which is 55/24, -59/24,
    37/24, -9/24 on equal steps.
    """
    _check_order(max_order, 4)
    levels = sigmas.detach().cpu().double().numpy()
    slopes: list[torch.Tensor] = []  # newest first
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        slopes.insert(0, derivative(x, sigmas[i], denoised))
        del slopes[max_order:]
        if sigmas[i + 1] == 0:
            x = denoised
            continue
        order = min(max_order, i + 1)
        if order == 4:
            increments = [lms_coefficient(4, levels, i, j) for j in range(4)]
        else:
            step = float(levels[i + 1] - levels[i])
            weights = ipndm_v_weights([float(levels[i + 1 - k] - levels[i - k]) for k in range(order)])
            increments = [w * step for w in weights]
        x = x + sum(c * s for c, s in zip(increments, slopes, strict=False))
    return x


class DeisTime:
    """The VP diffusion DEIS steps in: sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1) on t in [0, 1].

    Its two constants are fitted (as ComfyUI does) so that sigma(1e-3) = 0.002 and sigma(1) = 80.
    """

    def __init__(self, epsilon: float = 1e-3, sigma_min: float = 0.002, sigma_max: float = 80.0) -> None:
        top = math.log(sigma_max ** 2 + 1)
        self.beta_d = 2 * (math.log(sigma_min ** 2 + 1) / epsilon - top) / (epsilon - 1)
        self.beta_min = top - 0.5 * self.beta_d

    def t(self, sigma: np.ndarray) -> np.ndarray:
        return (np.sqrt(self.beta_min ** 2 + 2 * self.beta_d * np.log1p(sigma ** 2)) - self.beta_min) / self.beta_d

    def dsigma_dt(self, t: np.ndarray) -> np.ndarray:
        growth = np.exp(0.5 * self.beta_d * t ** 2 + self.beta_min * t)
        return (self.beta_d * t + self.beta_min) * growth / (2 * np.sqrt(growth - 1))


def deis_weights(times: np.ndarray, t_start: float, t_end: float, time: DeisTime, points: int = 64) -> list[float]:
    """Integral over [t_start, t_end] of dsigma/dt times each Lagrange basis polynomial through `times`."""
    nodes, node_weights = np.polynomial.legendre.leggauss(points)
    taus = (t_end - t_start) / 2 * nodes + (t_start + t_end) / 2
    integrand = time.dsigma_dt(taus) * (t_end - t_start) / 2 * node_weights
    weights = []
    for j in range(len(times)):
        basis = np.ones_like(taus)
        for k in range(len(times)):
            if k != j:
                basis *= (taus - times[k]) / (times[j] - times[k])
        weights.append(float(np.sum(integrand * basis)))
    return weights


def sample_deis(model, x, sigmas, *, extra_args=None, callback=None, disable=None, max_order=3):
    """DEIS (tAB): Adams-Bashforth in VP time t; the first step and a step to sigma 0 are Euler steps.

    ComfyUI integrates the weights with a 10,000-point Riemann sum; Gauss-Legendre quadrature is used
    here, so results agree to about 1e-4 of a step, not bit for bit.
    """
    _check_order(max_order, 4)
    time = DeisTime()
    ts = time.t(sigmas.detach().cpu().double().numpy())
    slopes: list[torch.Tensor] = []  # newest first
    for i in range(len(sigmas) - 1):
        denoised = call_model(model, x, sigmas[i], extra_args)
        report(callback, i, x, sigmas[i], denoised)
        slopes.insert(0, derivative(x, sigmas[i], denoised))
        del slopes[max_order:]
        order = min(max_order, i + 1)
        if sigmas[i + 1] <= 0 or order == 1:
            x = x + slopes[0] * (sigmas[i + 1] - sigmas[i])
            continue
        weights = deis_weights(ts[[i - k for k in range(order)]], ts[i], ts[i + 1], time)
        x = x + sum(w * s for w, s in zip(weights, slopes, strict=False))
    return x
