"""Samplers by ComfyUI name, all called the same way.

`get_sampler(name)` returns `run(model, x, sigmas, *, extra_args=None, callback=None, seed=None)`.
`dpm_fast` / `dpm_adaptive` are adapted to take a sigmas tensor (they run from sigmas[0] to the
last non-zero sigma); `ddim` is Euler (its difference, random inpainting noise, lives in
`sample.py`). The order of SAMPLER_NAMES follows ComfyUI's list (for the ones implemented).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import diffusion.sampling.samplers_dpm_solver as dpm_solver
import diffusion.sampling.samplers_dpmpp as dpmpp
import diffusion.sampling.samplers_euler as euler
import diffusion.sampling.samplers_unipc as unipc
from diffusion.sampling.names import SAMPLER_NAMES

# These compute steps + 1 sigmas and drop the penultimate one (their last step is a plain Euler jump).
DISCARD_PENULTIMATE_SIGMA = frozenset({"dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"})

# Samplers whose result depends on the seed (beyond the initial noise).
STOCHASTIC = frozenset({"euler_ancestral", "dpm_2_ancestral", "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_2m_sde",
                        "dpmpp_3m_sde", "ddpm", "lcm"})

SamplerFn = Callable[..., torch.Tensor]

_DETERMINISTIC = {
    "euler": euler.sample_euler,
    "ddim": euler.sample_euler,
    "heun": euler.sample_heun,
    "heunpp2": euler.sample_heunpp2,
    "dpm_2": euler.sample_dpm_2,
    "lms": euler.sample_lms,
    "dpmpp_2m": dpmpp.sample_dpmpp_2m,
    "uni_pc": unipc.sample_uni_pc,
    "uni_pc_bh2": unipc.sample_uni_pc_bh2,
}

_SEEDED = {
    "euler_ancestral": euler.sample_euler_ancestral,
    "dpm_2_ancestral": euler.sample_dpm_2_ancestral,
    "dpmpp_2s_ancestral": dpmpp.sample_dpmpp_2s_ancestral,
    "dpmpp_sde": dpmpp.sample_dpmpp_sde,
    "dpmpp_2m_sde": dpmpp.sample_dpmpp_2m_sde,
    "dpmpp_3m_sde": dpmpp.sample_dpmpp_3m_sde,
    "ddpm": dpmpp.sample_ddpm,
    "lcm": dpmpp.sample_lcm,
}


def _last_positive_sigma(sigmas: torch.Tensor) -> torch.Tensor:
    return sigmas[-2] if sigmas[-1] == 0 else sigmas[-1]


def _run_dpm_fast(model, x, sigmas, *, extra_args=None, callback=None, seed=None):
    if len(sigmas) <= 1:
        return x
    return dpm_solver.sample_dpm_fast(model, x, _last_positive_sigma(sigmas), sigmas[0], len(sigmas) - 1,
                                      extra_args=extra_args, callback=callback)


def _run_dpm_adaptive(model, x, sigmas, *, extra_args=None, callback=None, seed=None):
    if len(sigmas) <= 1:
        return x
    return dpm_solver.sample_dpm_adaptive(model, x, _last_positive_sigma(sigmas), sigmas[0],
                                          extra_args=extra_args, callback=callback)


def get_sampler(name: str) -> SamplerFn:
    """The sampler called `name`, as run(model, x, sigmas, *, extra_args, callback, seed)."""
    if name in _DETERMINISTIC:
        function = _DETERMINISTIC[name]

        def run(model, x, sigmas, *, extra_args=None, callback=None, seed=None):
            return function(model, x, sigmas, extra_args=extra_args, callback=callback)

        return run
    if name in _SEEDED:
        function = _SEEDED[name]

        def run_seeded(model, x, sigmas, *, extra_args=None, callback=None, seed=None):
            return function(model, x, sigmas, extra_args=extra_args, callback=callback, seed=seed)

        return run_seeded
    if name == "dpm_fast":
        return _run_dpm_fast
    if name == "dpm_adaptive":
        return _run_dpm_adaptive
    raise ValueError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLER_NAMES)}")
