"""Which sigmas a KSampler run uses: scheduler, denoise strength and KSamplerAdvanced's step window.

Follows ComfyUI's KSampler exactly:
- `dpm_2`, `dpm_2_ancestral`, `uni_pc`, `uni_pc_bh2` compute steps + 1 sigmas and drop the
  penultimate one;
- denoise < 1 computes int(steps / denoise) steps and keeps the last steps + 1 sigmas;
  denoise <= 0 gives no sigmas (no sampling: the input latent comes back);
- `last_step` truncates to sigmas[:last_step + 1] and, with force_full_denoise, sets the final
  sigma to 0; `start_step` drops the first steps, and one at or beyond the end means "no sampling".
"""

from __future__ import annotations

import math

import torch

from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.sampling.registry import DISCARD_PENULTIMATE_SIGMA, SAMPLER_NAMES
from diffusion.sampling.schedules import SCHEDULER_NAMES, calculate_sigmas


def check_steps(steps: object) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return steps


def check_names(sampler_name: str, scheduler: str | None = None) -> None:
    if sampler_name not in SAMPLER_NAMES:
        raise ValueError(f"unknown sampler {sampler_name!r}; expected one of {', '.join(SAMPLER_NAMES)}")
    if scheduler is not None and scheduler not in SCHEDULER_NAMES:
        raise ValueError(f"unknown scheduler {scheduler!r}; expected one of {', '.join(SCHEDULER_NAMES)}")


def sampler_sigmas(schedule: DiscreteSchedule, scheduler: str, sampler_name: str, steps: int) -> torch.Tensor:
    """The full schedule for `steps` steps of `sampler_name` (with the penultimate-sigma rule)."""
    check_names(sampler_name, scheduler)
    if sampler_name in DISCARD_PENULTIMATE_SIGMA:
        sigmas = calculate_sigmas(schedule, scheduler, steps + 1)
        return torch.cat([sigmas[:-2], sigmas[-1:]])
    return calculate_sigmas(schedule, scheduler, steps)


def denoise_sigmas(schedule: DiscreteSchedule, scheduler: str, sampler_name: str, steps: int,
                   denoise: float = 1.0) -> torch.Tensor:
    """KSampler's sigmas for a denoise strength (empty tensor when denoise <= 0)."""
    check_steps(steps)
    denoise = float(denoise)
    if not math.isfinite(denoise):
        raise ValueError(f"denoise must be a finite number, got {denoise}")
    if denoise > 0.9999:
        return sampler_sigmas(schedule, scheduler, sampler_name, steps)
    if denoise <= 0.0:
        return torch.zeros(0)
    return sampler_sigmas(schedule, scheduler, sampler_name, int(steps / denoise))[-(steps + 1):]


def basic_scheduler_sigmas(schedule: DiscreteSchedule, scheduler: str, steps: int, denoise: float = 1.0) -> torch.Tensor:
    """BasicScheduler's sigmas (no sampler-specific rule): the custom-sampling node's SIGMAS."""
    check_steps(steps)
    check_names("euler", scheduler)
    if denoise < 1.0:
        if denoise <= 0.0:
            return torch.zeros(0)
        return calculate_sigmas(schedule, scheduler, int(steps / denoise))[-(steps + 1):]
    return calculate_sigmas(schedule, scheduler, steps)


def step_window(sigmas: torch.Tensor, start_step: int | None, last_step: int | None,
                force_full_denoise: bool) -> torch.Tensor | None:
    """The sigmas between start_step and last_step, or None when nothing is left to sample."""
    if last_step is not None and last_step < len(sigmas) - 1:
        if last_step < 0:
            raise ValueError(f"last_step must be >= 0, got {last_step}")
        sigmas = sigmas[: last_step + 1].clone()
        if force_full_denoise:
            sigmas[-1] = 0
    if start_step is not None:
        if start_step < 0:
            raise ValueError(f"start_step must be >= 0, got {start_step}")
        if start_step >= len(sigmas) - 1:
            return None
        sigmas = sigmas[start_step:]
    return sigmas
