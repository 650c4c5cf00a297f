"""Scheduler nodes beyond BasicScheduler/KarrasScheduler: each makes a SIGMAS tensor (ComfyUI's ids).

The formulas live in diffusion.sampling.schedules and .published_schedules; these nodes check
their inputs (errors name the node and the input) and call them. Node facts follow ComfyUI's
comfy_extras/nodes_custom_sampler.py, nodes_align_your_steps.py and nodes_gits.py.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.sampling.ksampler import require_model

discrete = lazy_import("diffusion.sampling.discrete")
schedules = lazy_import("diffusion.sampling.schedules")
published = lazy_import("diffusion.sampling.published_schedules")

CATEGORY = "sampling/custom_sampling/schedulers"
# Torch-free copies of the published tables' keys (tests check they agree with the tables).
AYS_MODEL_TYPES = ("SD1", "SDXL", "SVD")
OPTIMAL_STEPS_MODEL_TYPES = ("FLUX", "Wan", "Chroma")


def _steps(default: int = 20, low: int = 1, high: int = 10000) -> Int:
    return Int("steps", default=default, min=low, max=high)


def _sigma(name: str, default: float) -> Float:
    return Float(name, default=default, min=0.0, max=5000.0, step=0.01, round=False)


def _denoise() -> Float:
    return Float("denoise", default=1.0, min=0.0, max=1.0, step=0.01)


def _check_range(node: str, sigma_min: float, sigma_max: float) -> None:
    if not 0 < sigma_min < sigma_max:
        raise ValueError(f"{node}: need 0 < sigma_min < sigma_max, got sigma_min {sigma_min}, sigma_max {sigma_max}")


def _positive(node: str, name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{node}: input '{name}' must be > 0, got {value}")


class ExponentialScheduler(Node):
    node_id = "ExponentialScheduler"
    display_name = "ExponentialScheduler"
    category = CATEGORY
    description = "Sigmas evenly spaced in log sigma from sigma_max to sigma_min, then 0."
    inputs = [_steps(), _sigma("sigma_max", 14.614642), _sigma("sigma_min", 0.0291675)]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, steps: int, sigma_max: float, sigma_min: float) -> tuple:
        _check_range(cls.node_id, sigma_min, sigma_max)
        return (schedules.exponential_sigmas(steps, sigma_min, sigma_max),)


class PolyexponentialScheduler(Node):
    node_id = "PolyexponentialScheduler"
    display_name = "PolyexponentialScheduler"
    category = CATEGORY
    description = "log sigma runs from sigma_max to sigma_min along a ramp raised to rho (rho 1 = exponential)."
    inputs = [_steps(), _sigma("sigma_max", 14.614642), _sigma("sigma_min", 0.0291675),
              Float("rho", default=1.0, min=0.0, max=100.0, step=0.01, round=False)]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, steps: int, sigma_max: float, sigma_min: float, rho: float) -> tuple:
        _check_range(cls.node_id, sigma_min, sigma_max)
        _positive(cls.node_id, "rho", rho)
        return (schedules.polyexponential_sigmas(steps, sigma_min, sigma_max, rho),)


class LaplaceScheduler(Node):
    node_id = "LaplaceScheduler"
    display_name = "LaplaceScheduler"
    category = CATEGORY
    description = ("log sigma at the quantiles of a Laplace(mu, beta) distribution, clamped to [sigma_min, "
                   "sigma_max]. As in ComfyUI there is no final 0: the last step ends at sigma_min.")
    inputs = [_steps(), _sigma("sigma_max", 14.614642), _sigma("sigma_min", 0.0291675),
              Float("mu", default=0.0, min=-10.0, max=10.0, step=0.1, round=False),
              Float("beta", default=0.5, min=0.0, max=10.0, step=0.1, round=False)]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, steps: int, sigma_max: float, sigma_min: float, mu: float, beta: float) -> tuple:
        _check_range(cls.node_id, sigma_min, sigma_max)
        _positive(cls.node_id, "beta", beta)
        return (schedules.laplace_sigmas(steps, sigma_min, sigma_max, mu, beta),)


class VPScheduler(Node):
    node_id = "VPScheduler"
    display_name = "VPScheduler"
    category = CATEGORY
    description = "The continuous variance-preserving schedule sqrt(exp(beta_d t^2/2 + beta_min t) - 1), t 1 -> eps_s."
    inputs = [_steps(), _sigma("beta_d", 19.9), _sigma("beta_min", 0.1),
              Float("eps_s", default=0.001, min=0.0, max=1.0, step=0.0001, round=False)]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, steps: int, beta_d: float, beta_min: float, eps_s: float) -> tuple:
        _positive(cls.node_id, "eps_s", eps_s)
        if beta_d <= 0 and beta_min <= 0:
            raise ValueError(f"{cls.node_id}: beta_d and beta_min cannot both be 0 (every sigma would be 0)")
        return (schedules.vp_sigmas(steps, beta_d, beta_min, eps_s),)


class SDTurboScheduler(Node):
    node_id = "SDTurboScheduler"
    display_name = "SDTurboScheduler"
    category = CATEGORY
    description = "SD-Turbo's timesteps 999, 899, ... 99 (the first `steps`, skipping 10 - int(10 * denoise)), then 0."
    inputs = [Socket("MODEL", "model"), _steps(1, 1, 10), Float("denoise", default=1.0, min=0, max=1.0, step=0.01)]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, steps: int, denoise: float) -> tuple:
        model = require_model(model, cls.node_id)
        return (schedules.sd_turbo_sigmas(discrete.schedule_of(model), steps, denoise),)


class BetaSamplingScheduler(Node):
    node_id = "BetaSamplingScheduler"
    display_name = "BetaSamplingScheduler"
    category = CATEGORY
    description = "The model's timesteps at the quantiles of Beta(alpha, beta), duplicates removed, then 0."
    inputs = [Socket("MODEL", "model"), _steps(),
              Float("alpha", default=0.6, min=0.0, max=50.0, step=0.01, round=False),
              Float("beta", default=0.6, min=0.0, max=50.0, step=0.01, round=False)]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, steps: int, alpha: float, beta: float) -> tuple:
        model = require_model(model, cls.node_id)
        _positive(cls.node_id, "alpha", alpha)
        _positive(cls.node_id, "beta", beta)
        return (schedules.beta_sigmas(discrete.schedule_of(model), steps, alpha, beta),)


class AlignYourStepsScheduler(Node):
    node_id = "AlignYourStepsScheduler"
    display_name = "AlignYourStepsScheduler"
    category = CATEGORY
    description = "NVIDIA's Align Your Steps tables (10 steps), interpolated in log sigma for other step counts."
    inputs = [Combo("model_type", AYS_MODEL_TYPES), _steps(10), _denoise()]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, model_type: str, steps: int, denoise: float) -> tuple:
        if model_type not in AYS_MODEL_TYPES:
            raise ValueError(f"{cls.node_id}: input 'model_type' must be one of {', '.join(AYS_MODEL_TYPES)}, "
                             f"got {model_type!r}")
        return (published.align_your_steps_sigmas(model_type, steps, denoise),)


class GITSScheduler(Node):
    node_id = "GITSScheduler"
    display_name = "GITSScheduler"
    category = CATEGORY
    description = "The published GITS schedules (2 to 20 steps per coeff); more steps interpolate the 20-step one."
    inputs = [Float("coeff", default=1.2, min=0.8, max=1.5, step=0.05), _steps(10, 2, 1000), _denoise()]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, coeff: float, steps: int, denoise: float) -> tuple:
        try:
            return (published.gits_sigmas(coeff, steps, denoise),)
        except ValueError as exc:
            raise ValueError(f"{cls.node_id}: {exc}") from None


class OptimalStepsScheduler(Node):
    node_id = "OptimalStepsScheduler"
    category = CATEGORY
    description = ("ComfyUI's Optimal Steps tables, interpolated in log sigma for other step counts. They are for "
                   "the flow models FLUX, Wan and Chroma (sigmas in [0, 1]); none is meant for SD1.x/SD2.x/SDXL.")
    inputs = [Combo("model_type", OPTIMAL_STEPS_MODEL_TYPES), _steps(20, 3, 1000), _denoise()]
    outputs = [Out("SIGMAS")]

    @classmethod
    def run(cls, ctx: Any, *, model_type: str, steps: int, denoise: float) -> tuple:
        if model_type not in OPTIMAL_STEPS_MODEL_TYPES:
            raise ValueError(f"{cls.node_id}: input 'model_type' must be one of "
                             f"{', '.join(OPTIMAL_STEPS_MODEL_TYPES)}, got {model_type!r}")
        if isinstance(steps, bool) or not isinstance(steps, int) or not 3 <= steps <= 1000:
            raise ValueError(f"{cls.node_id}: input 'steps' must be an integer from 3 to 1000, got {steps!r}")
        return (published.optimal_steps_sigmas(model_type, steps, denoise),)


NODES = [ExponentialScheduler, PolyexponentialScheduler, LaplaceScheduler, VPScheduler, SDTurboScheduler,
         BetaSamplingScheduler, AlignYourStepsScheduler, GITSScheduler, OptimalStepsScheduler]
