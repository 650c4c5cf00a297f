"""Sampler* nodes: a SAMPLER with its parameters set (ComfyUI's ids), for SamplerCustom(Advanced).

Each returns a `SamplerChoice(name, options)`; the options reach the sampler function through
diffusion.sampling.sampler_options. `noise_device` is accepted for compatibility and ignored: the
SDE samplers here always draw their Brownian noise on the CPU from the seed, so a seed gives the
same image on every device (ComfyUI's "gpu" noise differs from its "cpu" noise).
"""

from __future__ import annotations

import math
from typing import Any

from nodes.api.declare import Combo, Float, Int, Node, Out
from nodes.library.sampling.custom_sampling import SamplerChoice

CATEGORY = "sampling/custom_sampling/samplers"
NOISE_DEVICES = ("gpu", "cpu")
SOLVER_TYPES = ("midpoint", "heun")
EULER_CFG_PP_VERSIONS = ("regular", "alternative")  # torch-free copy of samplers_cfg_pp's
UPSCALE_METHODS = ("bislerp", "nearest-exact", "bilinear", "area", "bicubic")  # torch-free copy of lcm_upscale's
NOISE_DEVICE_NOTE = " noise_device is ignored: the noise is always drawn on the CPU from the seed."


def _param(name: str, default: float, high: float = 100.0) -> Float:
    return Float(name, default=default, min=0.0, max=high, step=0.01, round=False)


def _choice(node: str, name: str, **options: Any) -> tuple:
    for key, value in options.items():
        if isinstance(value, float) and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{node}: input '{key}' must be a finite number >= 0, got {value}")
    return (SamplerChoice(name, tuple(options.items())),)


def _one_of(node: str, name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{node}: input '{name}' must be one of {', '.join(allowed)}, got {value!r}")


class SamplerEulerAncestral(Node):
    node_id = "SamplerEulerAncestral"
    display_name = "SamplerEulerAncestral"
    category = CATEGORY
    inputs = [_param("eta", 1.0), _param("s_noise", 1.0)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, eta: float, s_noise: float) -> tuple:
        return _choice(cls.node_id, "euler_ancestral", eta=eta, s_noise=s_noise)


class SamplerEulerAncestralCFGPP(Node):
    node_id = "SamplerEulerAncestralCFGPP"
    display_name = "SamplerEulerAncestralCFG++"
    category = CATEGORY
    description = ("Euler ancestral with CFG++: the step's direction comes from the unconditional prediction, its "
                   "end point from the guided one. With BasicGuider (no negative) there is no unconditional "
                   "prediction and this is plain euler_ancestral.")
    inputs = [_param("eta", 1.0, high=1.0), _param("s_noise", 1.0, high=10.0)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, eta: float, s_noise: float) -> tuple:
        return _choice(cls.node_id, "euler_ancestral_cfg_pp", eta=eta, s_noise=s_noise)


class SamplerDPMPP_2S_Ancestral(Node):  # noqa: N801 - ComfyUI's node id
    node_id = "SamplerDPMPP_2S_Ancestral"
    display_name = "SamplerDPMPP_2S_Ancestral"
    category = CATEGORY
    inputs = [_param("eta", 1.0), _param("s_noise", 1.0)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, eta: float, s_noise: float) -> tuple:
        return _choice(cls.node_id, "dpmpp_2s_ancestral", eta=eta, s_noise=s_noise)


class SamplerLMS(Node):
    node_id = "SamplerLMS"
    display_name = "SamplerLMS"
    category = CATEGORY
    inputs = [Int("order", default=4, min=1, max=100)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, order: int) -> tuple:
        if order < 1:
            raise ValueError(f"{cls.node_id}: input 'order' must be >= 1, got {order}")
        return _choice(cls.node_id, "lms", order=order)


class SamplerDPMPP_2M_SDE(Node):  # noqa: N801 - ComfyUI's node id
    node_id = "SamplerDPMPP_2M_SDE"
    display_name = "SamplerDPMPP_2M_SDE"
    category = CATEGORY
    description = "DPM-Solver++(2M) SDE." + NOISE_DEVICE_NOTE
    inputs = [Combo("solver_type", SOLVER_TYPES), _param("eta", 1.0), _param("s_noise", 1.0),
              Combo("noise_device", NOISE_DEVICES)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, solver_type: str, eta: float, s_noise: float, noise_device: str) -> tuple:
        _one_of(cls.node_id, "solver_type", solver_type, SOLVER_TYPES)
        _one_of(cls.node_id, "noise_device", noise_device, NOISE_DEVICES)
        return _choice(cls.node_id, "dpmpp_2m_sde", eta=eta, s_noise=s_noise, solver_type=solver_type)


class SamplerDPMPP_3M_SDE(Node):  # noqa: N801 - ComfyUI's node id
    node_id = "SamplerDPMPP_3M_SDE"
    display_name = "SamplerDPMPP_3M_SDE"
    category = CATEGORY
    description = "DPM-Solver++(3M) SDE." + NOISE_DEVICE_NOTE
    inputs = [_param("eta", 1.0), _param("s_noise", 1.0), Combo("noise_device", NOISE_DEVICES)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, eta: float, s_noise: float, noise_device: str) -> tuple:
        _one_of(cls.node_id, "noise_device", noise_device, NOISE_DEVICES)
        return _choice(cls.node_id, "dpmpp_3m_sde", eta=eta, s_noise=s_noise)


class SamplerDPMPP_SDE(Node):  # noqa: N801 - ComfyUI's node id
    node_id = "SamplerDPMPP_SDE"
    display_name = "SamplerDPMPP_SDE"
    category = CATEGORY
    description = "DPM-Solver++ SDE (singlestep, stage at r of the step)." + NOISE_DEVICE_NOTE
    inputs = [_param("eta", 1.0), _param("s_noise", 1.0), _param("r", 0.5), Combo("noise_device", NOISE_DEVICES)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, eta: float, s_noise: float, r: float, noise_device: str) -> tuple:
        _one_of(cls.node_id, "noise_device", noise_device, NOISE_DEVICES)
        if not r > 0:
            raise ValueError(f"{cls.node_id}: input 'r' must be > 0, got {r}")
        return _choice(cls.node_id, "dpmpp_sde", eta=eta, s_noise=s_noise, r=r)


class SamplerDPMAdaptative(Node):
    node_id = "SamplerDPMAdaptative"
    display_name = "SamplerDPMAdaptative"
    category = CATEGORY
    inputs = [Int("order", default=3, min=2, max=3), _param("rtol", 0.05), _param("atol", 0.0078),
              _param("h_init", 0.05), _param("pcoeff", 0.0), _param("icoeff", 1.0), _param("dcoeff", 0.0),
              _param("accept_safety", 0.81), _param("eta", 0.0), _param("s_noise", 1.0)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, order: int, rtol: float, atol: float, h_init: float, pcoeff: float, icoeff: float,
            dcoeff: float, accept_safety: float, eta: float, s_noise: float) -> tuple:
        if order not in (2, 3):
            raise ValueError(f"{cls.node_id}: input 'order' must be 2 or 3, got {order}")
        if not h_init > 0:
            raise ValueError(f"{cls.node_id}: input 'h_init' must be > 0, got {h_init}")
        return _choice(cls.node_id, "dpm_adaptive", order=order, rtol=rtol, atol=atol, h_init=h_init, pcoeff=pcoeff,
                       icoeff=icoeff, dcoeff=dcoeff, accept_safety=accept_safety, eta=eta, s_noise=s_noise)


class SamplerEulerCFGpp(Node):
    node_id = "SamplerEulerCFGpp"
    display_name = "SamplerEulerCFG++"
    category = "_for_testing"
    experimental = True
    description = ("Euler with CFG++. regular: x' = D + sigma' (x - U) / sigma (euler_cfg_pp); alternative: Euler "
                   "steps along (x - 2 D + U) / sigma. With BasicGuider (no negative) U = D.")
    inputs = [Combo("version", EULER_CFG_PP_VERSIONS)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, version: str) -> tuple:
        _one_of(cls.node_id, "version", version, EULER_CFG_PP_VERSIONS)
        if version == "regular":
            return (SamplerChoice("euler_cfg_pp"),)
        return (SamplerChoice("euler_cfg_pp", (("version", version),)),)


class SamplerLCMUpscale(Node):
    node_id = "SamplerLCMUpscale"
    display_name = "SamplerLCMUpscale"
    category = CATEGORY
    description = ("LCM sampling that upscales the latent by steps up to scale_ratio over the first scale_steps "
                   "steps (-1: about half). The output is larger than the input; it cannot inpaint (noise masks, "
                   "inpainting models and conditioning masks keep the starting size).")
    inputs = [Float("scale_ratio", default=1.0, min=0.1, max=20.0, step=0.01),
              Int("scale_steps", default=-1, min=-1, max=1000, step=1), Combo("upscale_method", UPSCALE_METHODS)]
    outputs = [Out("SAMPLER")]

    @classmethod
    def run(cls, ctx: Any, *, scale_ratio: float, scale_steps: int, upscale_method: str) -> tuple:
        _one_of(cls.node_id, "upscale_method", upscale_method, UPSCALE_METHODS)
        if not (math.isfinite(scale_ratio) and scale_ratio > 0):
            raise ValueError(f"{cls.node_id}: input 'scale_ratio' must be > 0, got {scale_ratio}")
        return _choice(cls.node_id, "lcm", total_upscale=float(scale_ratio), upscale_method=upscale_method,
                       upscale_steps=None if scale_steps < 0 else int(scale_steps))


NODES = [SamplerEulerAncestral, SamplerEulerAncestralCFGPP, SamplerLMS, SamplerDPMPP_3M_SDE, SamplerDPMPP_2M_SDE, SamplerDPMPP_SDE,
         SamplerDPMPP_2S_Ancestral, SamplerDPMAdaptative, SamplerLCMUpscale, SamplerEulerCFGpp]
