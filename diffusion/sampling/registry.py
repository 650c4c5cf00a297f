"""Samplers by ComfyUI name, all called the same way.

`get_sampler(name)` returns `run(model, x, sigmas, *, extra_args=None, callback=None, seed=None)`.
`dpm_fast` / `dpm_adaptive` are adapted to take a sigmas tensor (they run from sigmas[0] to the
last non-zero sigma); `ddim` is Euler (its difference, random inpainting noise, lives in
`sample.py`). SAMPLER_NAMES is ComfyUI's list, in its order; the CFG++ samplers read the unconditional
prediction through the `uncond_sink` model keyword (see `samplers_cfg_pp`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import diffusion.sampling.samplers_cfg_pp as cfg_pp
import diffusion.sampling.samplers_dpm_solver as dpm_solver
import diffusion.sampling.samplers_dpmpp as dpmpp
import diffusion.sampling.samplers_er_sde as er_sde
import diffusion.sampling.samplers_euler as euler
import diffusion.sampling.samplers_multistep as multistep
import diffusion.sampling.samplers_res as res
import diffusion.sampling.samplers_sa_solver as sa_solver
import diffusion.sampling.samplers_sde_device as sde_device
import diffusion.sampling.samplers_seeds as seeds
import diffusion.sampling.samplers_unipc as unipc
from diffusion.sampling.names import SAMPLER_NAMES

# These compute steps + 1 sigmas and drop the penultimate one (their last step is a plain Euler jump).
DISCARD_PENULTIMATE_SIGMA = frozenset({"dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"})

# Samplers whose result depends on the seed (beyond the initial noise).
STOCHASTIC = frozenset({"euler_ancestral", "euler_ancestral_cfg_pp", "exp_heun_2_x0_sde", "dpm_2_ancestral",
                        "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu",
                        "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu",
                        "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "res_multistep_ancestral",
                        "res_multistep_ancestral_cfg_pp", "er_sde", "seeds_2", "seeds_3", "sa_solver",
                        "sa_solver_pece"})

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
    "euler_cfg_pp": cfg_pp.sample_euler_cfg_pp,
    "exp_heun_2_x0": seeds.sample_exp_heun_2_x0,
    "dpmpp_2m_cfg_pp": cfg_pp.sample_dpmpp_2m_cfg_pp,
    "ipndm": multistep.sample_ipndm,
    "ipndm_v": multistep.sample_ipndm_v,
    "deis": multistep.sample_deis,
    "res_multistep": res.sample_res_multistep,
    "res_multistep_cfg_pp": res.sample_res_multistep_cfg_pp,
    "gradient_estimation": res.sample_gradient_estimation,
    "gradient_estimation_cfg_pp": res.sample_gradient_estimation_cfg_pp,
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
    "euler_ancestral_cfg_pp": cfg_pp.sample_euler_ancestral_cfg_pp,
    "exp_heun_2_x0_sde": seeds.sample_exp_heun_2_x0_sde,
    "dpmpp_2s_ancestral_cfg_pp": cfg_pp.sample_dpmpp_2s_ancestral_cfg_pp,
    "dpmpp_sde_gpu": sde_device.sample_dpmpp_sde_gpu,
    "dpmpp_2m_sde_gpu": sde_device.sample_dpmpp_2m_sde_gpu,
    "dpmpp_2m_sde_heun": sde_device.sample_dpmpp_2m_sde_heun,
    "dpmpp_2m_sde_heun_gpu": sde_device.sample_dpmpp_2m_sde_heun_gpu,
    "dpmpp_3m_sde_gpu": sde_device.sample_dpmpp_3m_sde_gpu,
    "res_multistep_ancestral": res.sample_res_multistep_ancestral,
    "res_multistep_ancestral_cfg_pp": res.sample_res_multistep_ancestral_cfg_pp,
    "er_sde": er_sde.sample_er_sde,
    "seeds_2": seeds.sample_seeds_2,
    "seeds_3": seeds.sample_seeds_3,
    "sa_solver": sa_solver.sample_sa_solver,
    "sa_solver_pece": sa_solver.sample_sa_solver_pece,
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
