"""DPM-Solver (Lu et al. 2022) in its noise-prediction form: dpm_fast and dpm_adaptive.

Time is t = -log(sigma). Singlestep solvers of order 1-3 advance x from t to t' using the
noise prediction eps = (x - D) / sigma at the start and at intermediate times.
- `sample_dpm_fast`: a fixed budget of n model evaluations spread over ceil(n/3) equal steps
  in t (orders 3, 3, ..., then 2/1 to use the budget exactly).
- `sample_dpm_adaptive`: embedded 2nd/3rd order pair with a PID step-size controller.
Both stop at sigma_min > 0 (not at 0), as ComfyUI's versions do; their high-level wrappers
take sigma_min as the last non-zero sigma of the schedule.
"""

from __future__ import annotations

import math

import torch

from diffusion.sampling.sampler_utils import ancestral_step, generator_noise


class _DPMSolver:
    """Holds the model and a per-step cache of noise predictions keyed by stage name."""

    def __init__(self, model, extra_args, x_template: torch.Tensor, callback=None) -> None:
        self.model = model
        self.extra_args = extra_args or {}
        self.callback = callback
        self.ones = x_template.new_ones([x_template.shape[0]])

    @staticmethod
    def t(sigma: torch.Tensor) -> torch.Tensor:
        return -sigma.log()

    @staticmethod
    def sigma(t: torch.Tensor) -> torch.Tensor:
        return t.neg().exp()

    def eps(self, cache: dict, key: str, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if key not in cache:
            sigma = self.sigma(t)
            cache[key] = (x - self.model(x, sigma * self.ones, **self.extra_args)) / sigma
        return cache[key]

    def step_1(self, x, t, t_next, cache):
        h = t_next - t
        return x - self.sigma(t_next) * h.expm1() * self.eps(cache, "eps", x, t)

    def step_2(self, x, t, t_next, cache, r1=0.5):
        h = t_next - t
        eps = self.eps(cache, "eps", x, t)
        s1 = t + r1 * h
        u1 = x - self.sigma(s1) * (r1 * h).expm1() * eps
        eps_r1 = self.eps(cache, "eps_r1", u1, s1)
        return x - self.sigma(t_next) * h.expm1() * eps - self.sigma(t_next) / (2 * r1) * h.expm1() * (eps_r1 - eps)

    def step_3(self, x, t, t_next, cache, r1=1 / 3, r2=2 / 3):
        h = t_next - t
        eps = self.eps(cache, "eps", x, t)
        s1, s2 = t + r1 * h, t + r2 * h
        u1 = x - self.sigma(s1) * (r1 * h).expm1() * eps
        eps_r1 = self.eps(cache, "eps_r1", u1, s1)
        u2 = (x - self.sigma(s2) * (r2 * h).expm1() * eps
              - self.sigma(s2) * (r2 / r1) * ((r2 * h).expm1() / (r2 * h) - 1) * (eps_r1 - eps))
        eps_r2 = self.eps(cache, "eps_r2", u2, s2)
        return x - self.sigma(t_next) * h.expm1() * eps - self.sigma(t_next) / r2 * (h.expm1() / h - 1) * (eps_r2 - eps)

    def report(self, i, x, t, cache):
        if self.callback is not None:
            denoised = x - self.sigma(t) * self.eps(cache, "eps", x, t)
            sigma = self.sigma(t)
            self.callback({"i": i, "x": x, "sigma": sigma, "sigma_hat": sigma, "denoised": denoised})


def _check_range(sigma_min, sigma_max) -> None:
    if float(sigma_min) <= 0 or float(sigma_max) <= 0:
        raise ValueError(f"sigma_min and sigma_max must be > 0, got {float(sigma_min)} and {float(sigma_max)}")


def sample_dpm_fast(model, x, sigma_min, sigma_max, n, *, extra_args=None, callback=None, disable=None, eta=0.0,
                    s_noise=1.0, noise_sampler=None, seed=None):
    """DPM-Solver-fast with exactly `n` model evaluations, from sigma_max down to sigma_min."""
    _check_range(sigma_min, sigma_max)
    if n < 1:
        raise ValueError(f"dpm_fast needs at least one model evaluation, got n={n}")
    noise = generator_noise(x, noise_sampler, seed) if eta else None
    solver = _DPMSolver(model, extra_args, x, callback)
    t_start = solver.t(torch.as_tensor(sigma_max, dtype=x.dtype, device=x.device))
    t_end = solver.t(torch.as_tensor(sigma_min, dtype=x.dtype, device=x.device))
    steps = math.ceil(n / 3)
    ts = torch.linspace(float(t_start), float(t_end), steps + 1, dtype=x.dtype, device=x.device)
    if n % 3 == 0:
        orders = [3] * (steps - 2) + [2, 1]
    else:
        orders = [3] * (steps - 1) + [n % 3]
    for i, order in enumerate(orders):
        cache: dict = {}
        t, t_next = ts[i], ts[i + 1]
        if eta:
            sigma_down, _ = ancestral_step(solver.sigma(t), solver.sigma(t_next), eta)
            t_target = torch.minimum(t_end, solver.t(sigma_down))
            sigma_up = (solver.sigma(t_next) ** 2 - solver.sigma(t_target) ** 2) ** 0.5
        else:
            t_target, sigma_up = t_next, 0.0
        solver.report(i, x, t, cache)
        step = {1: solver.step_1, 2: solver.step_2, 3: solver.step_3}[order]
        x = step(x, t, t_target, cache)
        if noise is not None:
            x = x + sigma_up * s_noise * noise(solver.sigma(t), solver.sigma(t_next))
    return x


class _PIDStepSizeController:
    """Adapts the step size h from the scaled error of each attempt (accepts if the factor is large enough)."""

    def __init__(self, h, pcoeff, icoeff, dcoeff, order, accept_safety, eps=1e-8):
        self.h = h
        self.b1 = (pcoeff + icoeff + dcoeff) / order
        self.b2 = -(pcoeff + 2 * dcoeff) / order
        self.b3 = dcoeff / order
        self.accept_safety = accept_safety
        self.eps = eps
        self.inverse_errors: list[float] = []

    def propose_step(self, error) -> bool:
        inverse = 1 / (float(error) + self.eps)
        if not self.inverse_errors:
            self.inverse_errors = [inverse, inverse, inverse]
        self.inverse_errors[0] = inverse
        e = self.inverse_errors
        factor = e[0] ** self.b1 * e[1] ** self.b2 * e[2] ** self.b3
        factor = 1 + math.atan(factor - 1)  # soft limiter
        accept = factor >= self.accept_safety
        if accept:
            self.inverse_errors[2] = self.inverse_errors[1]
            self.inverse_errors[1] = self.inverse_errors[0]
        self.h *= factor
        return accept


def sample_dpm_adaptive(model, x, sigma_min, sigma_max, *, extra_args=None, callback=None, disable=None, order=3,
                        rtol=0.05, atol=0.0078, h_init=0.05, pcoeff=0.0, icoeff=1.0, dcoeff=0.0, accept_safety=0.81,
                        eta=0.0, s_noise=1.0, noise_sampler=None, seed=None, max_attempts=10000):
    """Adaptive DPM-Solver from sigma_max down to sigma_min; the error tolerance sets the step count."""
    _check_range(sigma_min, sigma_max)
    if order not in (2, 3):
        raise ValueError(f"dpm_adaptive order must be 2 or 3, got {order}")
    noise = generator_noise(x, noise_sampler, seed) if eta else None
    solver = _DPMSolver(model, extra_args, x, callback)
    t_start = solver.t(torch.as_tensor(sigma_max, dtype=x.dtype, device=x.device))
    t_end = solver.t(torch.as_tensor(sigma_min, dtype=x.dtype, device=x.device))
    forward = bool(t_end > t_start)
    if not forward and eta:
        raise ValueError("eta must be 0 when sampling towards higher noise")
    h_init = abs(h_init) * (1 if forward else -1)
    atol_t = torch.tensor(atol, dtype=x.dtype, device=x.device)
    rtol_t = torch.tensor(rtol, dtype=x.dtype, device=x.device)
    s = t_start
    x_prev = x
    pid = _PIDStepSizeController(h_init, pcoeff, icoeff, dcoeff, 1.5 if eta else order, accept_safety)
    attempts = 0
    while (s < t_end - 1e-5) if forward else (s > t_end + 1e-5):
        attempts += 1
        if attempts > max_attempts:
            raise RuntimeError(f"dpm_adaptive did not reach sigma_min after {max_attempts} attempts")
        cache: dict = {}
        t = torch.minimum(t_end, s + pid.h) if forward else torch.maximum(t_end, s + pid.h)
        if eta:
            sigma_down, _ = ancestral_step(solver.sigma(s), solver.sigma(t), eta)
            t_target = torch.minimum(t_end, solver.t(sigma_down))
            sigma_up = (solver.sigma(t) ** 2 - solver.sigma(t_target) ** 2) ** 0.5
        else:
            t_target, sigma_up = t, 0.0
        if order == 2:
            x_low = solver.step_1(x, s, t_target, cache)
            x_high = solver.step_2(x, s, t_target, cache)
        else:
            x_low = solver.step_2(x, s, t_target, cache, r1=1 / 3)
            x_high = solver.step_3(x, s, t_target, cache)
        delta = torch.maximum(atol_t, rtol_t * torch.maximum(x_low.abs(), x_prev.abs()))
        error = torch.linalg.norm((x_low - x_high) / delta) / x.numel() ** 0.5
        if pid.propose_step(error):
            solver.report(attempts - 1, x, s, cache)
            x_prev = x_low
            x = x_high
            if noise is not None:
                x = x + sigma_up * s_noise * noise(solver.sigma(s), solver.sigma(t))
            s = t
    return x
