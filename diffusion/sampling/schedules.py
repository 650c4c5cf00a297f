"""Schedulers: functions that turn a step count into a decreasing sigmas tensor ending in 0.

Names and behaviour follow ComfyUI's `KSampler.SCHEDULERS`. `karras`, `exponential` and
`kl_optimal` only need (n, sigma_min, sigma_max); the others read the model's discrete sigma
table (`DiscreteSchedule`). `calculate_sigmas(schedule, name, steps)` dispatches by name.
"""

from __future__ import annotations

import math

import torch

from diffusion.sampling.beta_distribution import beta_ppf
from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.sampling.names import SCHEDULER_NAMES


def _append_zero(sigmas: torch.Tensor) -> torch.Tensor:
    return torch.cat([sigmas, sigmas.new_zeros([1])])


def karras_sigmas(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    """Karras et al. (2022): sigma_i = (max^(1/rho) + i/(n-1) * (min^(1/rho) - max^(1/rho)))^rho."""
    ramp = torch.linspace(0, 1, n)
    min_inv_rho = sigma_min ** (1 / rho)
    max_inv_rho = sigma_max ** (1 / rho)
    return _append_zero((max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho)


def exponential_sigmas(n: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """Sigmas evenly spaced in log sigma from sigma_max to sigma_min."""
    return _append_zero(torch.linspace(math.log(sigma_max), math.log(sigma_min), n).exp())


def polyexponential_sigmas(n: int, sigma_min: float, sigma_max: float, rho: float = 1.0) -> torch.Tensor:
    """log sigma from log sigma_max to log sigma_min along ramp^rho (ramp 1 -> 0); rho = 1 is `exponential`."""
    ramp = torch.linspace(1, 0, n) ** rho
    log_min, log_max = math.log(sigma_min), math.log(sigma_max)
    return _append_zero(torch.exp(ramp * (log_max - log_min) + log_min))


def vp_sigmas(n: int, beta_d: float = 19.9, beta_min: float = 0.1, eps_s: float = 1e-3) -> torch.Tensor:
    """The continuous VP schedule: sigma(t) = sqrt(exp(beta_d t^2 / 2 + beta_min t) - 1), t from 1 to eps_s."""
    t = torch.linspace(1, eps_s, n)
    return _append_zero(torch.sqrt(torch.special.expm1(beta_d * t ** 2 / 2 + beta_min * t)))


def laplace_sigmas(n: int, sigma_min: float, sigma_max: float, mu: float = 0.0, beta: float = 0.5) -> torch.Tensor:
    """Tiankai et al. (2024): log sigma at the Laplace(mu, beta) quantiles of n even points, clamped to [min, max].

    As in ComfyUI no final 0 is appended: the result has n sigmas and ends at sigma_min.
    """
    x = torch.linspace(0, 1, n)
    offset = 0.5 - x
    log_sigma = mu - beta * torch.sign(offset) * torch.log(1 - 2 * torch.abs(offset) + 1e-5)
    return torch.clamp(torch.exp(log_sigma), min=sigma_min, max=sigma_max)


def sd_turbo_sigmas(schedule: DiscreteSchedule, steps: int, denoise: float = 1.0) -> torch.Tensor:
    """SD-Turbo's timesteps 999, 899, ..., 99: `steps` of them starting 10 - int(10 * denoise) in, then 0."""
    start = 10 - int(10 * denoise)
    timesteps = [999 - 100 * i for i in range(10)][start:start + steps]
    return _append_zero(torch.stack([schedule.sigma(float(t)) for t in timesteps]) if timesteps
                        else torch.zeros(0))


def kl_optimal_sigmas(n: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """"Align Your Steps"-style KL-optimal schedule: evenly spaced in arctan(sigma)."""
    sigmas = torch.zeros(n + 1)
    frac = torch.arange(n, dtype=torch.float32) / max(n - 1, 1)
    sigmas[:-1] = (frac * math.atan(sigma_min) + (1 - frac) * math.atan(sigma_max)).tan()
    return sigmas


def simple_sigmas(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    """Every (1000/steps)-th entry of the sigma table, from the top."""
    stride = len(schedule.sigmas) / steps
    values = [float(schedule.sigmas[-(1 + int(i * stride))]) for i in range(steps)]
    return torch.tensor(values + [0.0], dtype=torch.float32)


def ddim_uniform_sigmas(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    """DDIM's uniform timestep spacing: table entries 1, 1+k, 1+2k, ... (k = 1000 // steps), reversed."""
    table = schedule.sigmas
    if math.isclose(float(table[1]), 0.0, abs_tol=1e-5):
        steps += 1
        values: list[float] = []
    else:
        values = [0.0]
    stride = max(len(table) // steps, 1)
    index = 1
    while index < len(table):
        values.append(float(table[index]))
        index += stride
    return torch.tensor(values[::-1], dtype=torch.float32)


def normal_sigmas(schedule: DiscreteSchedule, steps: int, sgm: bool = False) -> torch.Tensor:
    """Timesteps evenly spaced from the last to the first; `sgm` drops the final one instead (sgm_uniform)."""
    start = float(schedule.timestep(schedule.sigma_max))
    end = float(schedule.timestep(schedule.sigma_min))
    append_zero = True
    if sgm:
        timesteps = torch.linspace(start, end, steps + 1)[:-1]
    else:
        if math.isclose(float(schedule.sigma(end)), 0.0, abs_tol=1e-5):
            steps += 1
            append_zero = False
        timesteps = torch.linspace(start, end, steps)
    values = [float(schedule.sigma(t)) for t in timesteps]
    if append_zero:
        values.append(0.0)
    return torch.tensor(values, dtype=torch.float32)


def beta_sigmas(schedule: DiscreteSchedule, steps: int, alpha: float = 0.6, beta: float = 0.6) -> torch.Tensor:
    """Timesteps at the quantiles of Beta(alpha, beta) (more steps at both ends), duplicates removed."""
    last_index = len(schedule.sigmas) - 1
    values: list[float] = []
    previous = None
    for i in range(steps):
        q = 1.0 - i / steps
        t = round(beta_ppf(q, alpha, beta) * last_index)
        if t != previous:
            values.append(float(schedule.sigmas[int(t)]))
        previous = t
    return torch.tensor(values + [0.0], dtype=torch.float32)


def linear_quadratic_sigmas(schedule: DiscreteSchedule, steps: int, threshold_noise: float = 0.025,
                            linear_steps: int | None = None) -> torch.Tensor:
    """Movie Gen's schedule: a linear ramp to `threshold_noise` then a quadratic, scaled by sigma_max."""
    if steps == 1:
        fractions = [1.0, 0.0]
    else:
        if linear_steps is None:
            linear_steps = steps // 2
        linear_part = [i * threshold_noise / linear_steps for i in range(linear_steps)]
        step_diff = linear_steps - threshold_noise * steps
        quadratic_steps = steps - linear_steps
        quad_coef = step_diff / (linear_steps * quadratic_steps ** 2)
        lin_coef = threshold_noise / linear_steps - 2 * step_diff / (quadratic_steps ** 2)
        const = quad_coef * (linear_steps ** 2)
        quadratic_part = [quad_coef * i ** 2 + lin_coef * i + const for i in range(linear_steps, steps)]
        fractions = [1.0 - v for v in linear_part + quadratic_part + [1.0]]
    return torch.tensor(fractions, dtype=torch.float32) * float(schedule.sigma_max)


def calculate_sigmas(schedule: DiscreteSchedule, scheduler: str, steps: int) -> torch.Tensor:
    """Sigmas of `scheduler` (a ComfyUI name) for `steps` steps: steps + 1 values ending in 0."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    sigma_min, sigma_max = float(schedule.sigma_min), float(schedule.sigma_max)
    if scheduler == "karras":
        return karras_sigmas(steps, sigma_min, sigma_max)
    if scheduler == "exponential":
        return exponential_sigmas(steps, sigma_min, sigma_max)
    if scheduler == "kl_optimal":
        return kl_optimal_sigmas(steps, sigma_min, sigma_max)
    if scheduler == "simple":
        return simple_sigmas(schedule, steps)
    if scheduler == "ddim_uniform":
        return ddim_uniform_sigmas(schedule, steps)
    if scheduler == "normal":
        return normal_sigmas(schedule, steps)
    if scheduler == "sgm_uniform":
        return normal_sigmas(schedule, steps, sgm=True)
    if scheduler == "beta":
        return beta_sigmas(schedule, steps)
    if scheduler == "linear_quadratic":
        return linear_quadratic_sigmas(schedule, steps)
    raise ValueError(f"unknown scheduler {scheduler!r}; expected one of {', '.join(SCHEDULER_NAMES)}")
