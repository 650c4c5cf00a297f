"""ModelSamplingDiscrete / ContinuousEDM / ContinuousV: run a model with another prediction type or
sigma table (ComfyUI's nodes).

The clone's options["model_sampling"] (diffusion/sampling/model_sampling.py) replaces the
checkpoint's own eps/v choice and schedule for sampling, schedulers and timestep ranges;
the input model is unchanged.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Combo, Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.model_patches.checks import number

model_hooks = lazy_import("diffusion.sampling.model_hooks")
model_sampling = lazy_import("diffusion.sampling.model_sampling")

DISCRETE_SAMPLING = ("eps", "v_prediction", "lcm", "x0", "img_to_img")
EDM_SAMPLING = ("v_prediction", "edm", "edm_playground_v2.5", "eps", "cosmos_rflow")
EDM_UNSUPPORTED = ("edm_playground_v2.5", "cosmos_rflow")  # need a latent-format shift / another model type
SIGMA_LIMIT = 1000.0


def _choice(node: str, name: str, value: Any, options: tuple) -> str:
    if value not in options:
        raise ValueError(f"{node}: input '{name}' must be one of {', '.join(options)}, got {value!r}")
    return value


def _sigma_range(node: str, sigma_min: Any, sigma_max: Any) -> tuple[float, float]:
    low = number(node, "sigma_min", sigma_min, 0.0, SIGMA_LIMIT)
    high = number(node, "sigma_max", sigma_max, 0.0, SIGMA_LIMIT)
    if not 0.0 < low < high:
        raise ValueError(f"{node}: need 0 < sigma_min < sigma_max, got sigma_min={low}, sigma_max={high}")
    return low, high


def _sigma_inputs(sigma_max: float, sigma_min: float) -> list:
    return [Float("sigma_max", default=sigma_max, min=0.0, max=SIGMA_LIMIT, step=0.001, round=False),
            Float("sigma_min", default=sigma_min, min=0.0, max=SIGMA_LIMIT, step=0.001, round=False)]


class ModelSamplingDiscrete(Node):
    node_id = "ModelSamplingDiscrete"
    category = "advanced/model"
    description = ("Overrides the prediction type (eps, v_prediction, lcm, x0, img_to_img) of a model; zsnr "
                   "rescales the noise schedule to zero terminal SNR.")
    inputs = [Socket("MODEL", "model"), Combo("sampling", DISCRETE_SAMPLING), Boolean("zsnr", default=False)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, sampling: str, zsnr: bool = False) -> tuple:
        _choice(cls.node_id, "sampling", sampling, DISCRETE_SAMPLING)
        if not isinstance(zsnr, bool):
            raise TypeError(f"{cls.node_id}: input 'zsnr' must be a boolean, got {type(zsnr).__name__}")
        override = model_sampling.model_sampling_discrete(sampling, zsnr)
        return (model_hooks.with_option(model, model_hooks.MODEL_SAMPLING, override, cls.node_id),)


class ModelSamplingContinuousEDM(Node):
    node_id = "ModelSamplingContinuousEDM"
    category = "advanced/model"
    description = ("Runs a model as a continuous-time (EDM) model with sigmas from sigma_min to sigma_max; edm uses "
                   "sigma_data 0.5. Differs from ComfyUI: edm_playground_v2.5 and cosmos_rflow are refused (they need "
                   "a latent-format shift and another model type).")
    inputs = [Socket("MODEL", "model"), Combo("sampling", EDM_SAMPLING), *_sigma_inputs(120.0, 0.002)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, sampling: str, sigma_max: float, sigma_min: float) -> tuple:
        _choice(cls.node_id, "sampling", sampling, EDM_SAMPLING)
        if sampling in EDM_UNSUPPORTED:
            raise ValueError(f"{cls.node_id}: sampling {sampling!r} is not supported here; use v_prediction, edm "
                             f"or eps")
        low, high = _sigma_range(cls.node_id, sigma_min, sigma_max)
        override = model_sampling.model_sampling_continuous_edm(sampling, low, high)
        return (model_hooks.with_option(model, model_hooks.MODEL_SAMPLING, override, cls.node_id),)


class ModelSamplingContinuousV(Node):
    node_id = "ModelSamplingContinuousV"
    category = "advanced/model"
    description = "Runs a model as a continuous-time v-prediction model (timestep 2 atan(sigma) / pi)."
    inputs = [Socket("MODEL", "model"), Combo("sampling", ("v_prediction",)), *_sigma_inputs(500.0, 0.03)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, sampling: str, sigma_max: float, sigma_min: float) -> tuple:
        _choice(cls.node_id, "sampling", sampling, ("v_prediction",))
        low, high = _sigma_range(cls.node_id, sigma_min, sigma_max)
        override = model_sampling.ModelSamplingContinuousV("v", low, high, 1.0)
        return (model_hooks.with_option(model, model_hooks.MODEL_SAMPLING, override, cls.node_id),)


NODES = [ModelSamplingDiscrete, ModelSamplingContinuousEDM, ModelSamplingContinuousV]
