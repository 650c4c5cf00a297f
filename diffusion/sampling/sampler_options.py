"""Samplers with their parameters set (eta, s_noise, order, solver_type, ...), as ComfyUI's Sampler* nodes make them.

`configured_sampler(name, options)` returns the same `run(model, x, sigmas, *, extra_args, callback,
seed)` as `registry.get_sampler(name)`, with `options` passed to the sampler function. Without
options it is exactly `get_sampler(name)`. `SAMPLER_PARAMETERS` says which options each sampler takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import diffusion.sampling.samplers_cfg_pp as cfg_pp
import diffusion.sampling.samplers_dpm_solver as dpm_solver
import diffusion.sampling.samplers_dpmpp as dpmpp
import diffusion.sampling.samplers_euler as euler
from diffusion.sampling.lcm_upscale import sample_lcm_upscale
from diffusion.sampling.registry import SamplerFn, get_sampler

_ANCESTRAL = ("eta", "s_noise")
ADAPTIVE_PARAMETERS = ("order", "rtol", "atol", "h_init", "pcoeff", "icoeff", "dcoeff", "accept_safety", "eta",
                       "s_noise")

# name -> (sampler function, the options it takes, whether it takes a seed)
_FUNCTIONS = {
    "euler_ancestral": (euler.sample_euler_ancestral, _ANCESTRAL, True),
    "euler_ancestral_cfg_pp": (cfg_pp.sample_euler_ancestral_cfg_pp, _ANCESTRAL, True),
    "lms": (euler.sample_lms, ("order",), False),
    "euler_cfg_pp": (cfg_pp.sample_euler_cfg_pp_version, ("version",), False),  # SamplerEulerCFGpp
    "dpmpp_2s_ancestral": (dpmpp.sample_dpmpp_2s_ancestral, _ANCESTRAL, True),
    "dpmpp_sde": (dpmpp.sample_dpmpp_sde, ("eta", "s_noise", "r"), True),
    "dpmpp_2m_sde": (dpmpp.sample_dpmpp_2m_sde, ("eta", "s_noise", "solver_type"), True),
    "dpmpp_3m_sde": (dpmpp.sample_dpmpp_3m_sde, _ANCESTRAL, True),
    # lcm with upscale options is SamplerLCMUpscale's algorithm; without options it is the plain lcm sampler
    "lcm": (sample_lcm_upscale, ("total_upscale", "upscale_method", "upscale_steps"), True),
}
SAMPLER_PARAMETERS = {name: names for name, (_, names, _) in _FUNCTIONS.items()} | {"dpm_adaptive": ADAPTIVE_PARAMETERS}


def _check_options(name: str, options: Mapping[str, Any]) -> None:
    allowed = SAMPLER_PARAMETERS.get(name)
    if allowed is None:
        raise ValueError(f"sampler {name!r} takes no options; samplers with options: {', '.join(SAMPLER_PARAMETERS)}")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"sampler {name!r} has no option {', '.join(unknown)}; it takes {', '.join(allowed)}")


def _last_positive_sigma(sigmas):
    return sigmas[-2] if sigmas[-1] == 0 else sigmas[-1]


def configured_sampler(name: str, options: Mapping[str, Any] | None = None) -> SamplerFn:
    """The sampler `name` with `options` passed to its function (same calling convention as get_sampler)."""
    if not options:
        return get_sampler(name)
    options = dict(options)
    _check_options(name, options)
    if name == "dpm_adaptive":
        def run_adaptive(model, x, sigmas, *, extra_args=None, callback=None, seed=None):
            if len(sigmas) <= 1:
                return x
            return dpm_solver.sample_dpm_adaptive(model, x, _last_positive_sigma(sigmas), sigmas[0],
                                                  extra_args=extra_args, callback=callback, seed=seed, **options)

        return run_adaptive
    function, _, seeded = _FUNCTIONS[name]

    def run(model, x, sigmas, *, extra_args=None, callback=None, seed=None):
        if seeded:
            return function(model, x, sigmas, extra_args=extra_args, callback=callback, seed=seed, **options)
        return function(model, x, sigmas, extra_args=extra_args, callback=callback, **options)

    return run
