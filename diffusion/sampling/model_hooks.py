"""Sampling hooks a patch node puts into a model clone's `options` (keys named as in ComfyUI).

- options["sampler_cfg_function"]: fn(args) -> x - guided, replacing uncond + (cond - uncond) * cfg.
  args: "cond" / "uncond" = x - the conditional / unconditional denoised, "cond_scale", "sigma" and
  "timestep" (the [B] noise levels), "input" (x), "cond_denoised", "uncond_denoised", "model_options".
- options["sampler_post_cfg_function"]: list of fn(args) -> new guided denoised, applied in order.
  args: "denoised", "cond_denoised", "uncond_denoised", "cond_scale", "sigma", "input", "cond",
  "uncond" (the prepared conditioning lists), "model_options", and "calc_cond_batch":
  fn(cond_lists, x, sigma, options) -> one prediction per list, the model run with other options (PAG).
- options["sampler_pre_cfg_function"]: list of fn(args) -> new conds_out, run in order before the cfg
  function. args: "conds_out" (one denoised per conditioning: [cond, uncond] for CFG, [positive,
  negative, empty] for PerpNegGuider; a side not evaluated is all zeros), "conds" (the prepared
  lists, None for a side not evaluated), "cond_scale", "sigma" and "timestep" (the [B] noise levels),
  "input" (x), "model_options".
- options["denoise_mask_function"]: fn(sigma, denoise_mask, extra_options) -> the mask used at this model
  call in place of the noise mask [B, C, H, W] (inpainting only). extra_options: "sigmas" (the run's
  sigmas) and "model_sampling" (the schedule: sigma_min, timestep()).
- options["sampler_cfg_function"] args also hold "calc_cond_batch" (as below; PerpNeg uses it).
- options["model_sampling"]: a `ModelSamplingDiscrete` (prediction type and sigma table).
- options["output_block_patch"]: list of fn(h, skip, info) -> (h, skip), run in the UNet before each
  output block joins the backbone features h with the skip connection.
- options["attn1_replace"]: {("input" | "middle" | "output", block index): fn(q, k, v, info) -> attention
  output}, replacing the self-attention core of that UNet block's transformers (info: "n_heads",
  "transformer_index", "block", "original_shape", ...).
- the other UNet patches under ComfyUI's names: "input_block_patch", "input_block_patch_after_skip",
  "attn1_patch", "attn1_output_patch", "middle_patch", "attn2_patch", "attn2_output_patch" (lists) and
  "attn2_replace" (a dict like attn1_replace); what each receives: `diffusion/models/unet/hooks.py`.
- options["disable_cfg1_optimization"]: evaluate the negative even at cfg 1.
- options["model_function_wrapper"]: fn(apply_model, args) -> denoised, wrapping each model evaluation as
  ComfyUI's does: apply_model(x, sigma, **c) is the rest of the evaluation; args: "input" (the noisy x),
  "timestep" (the [B] sigmas, ComfyUI's name), "c" (context, y, concat, hooks). No "cond_or_uncond". LazyCache.
- options["diffusion_model_wrapper"]: fn(apply, args) -> model output, around the UNet call itself (ComfyUI's
  DIFFUSION_MODEL wrapper): apply(x_in, timesteps, **c); args: "input" (x_in, scaled, concat included),
  "timestep" (the [B] UNet timesteps), "sigmas" (the [B] sigmas), "c" (context, y and hooks if any). EasyCache.
- UNet patches see info["sigmas"] (the [B] sigmas of the call) as ComfyUI's transformer_options do.
At cfg 1 (and no disable flag) the negative is not evaluated and the hooks see an all-zero
unconditional prediction, as in ComfyUI. Patch nodes call `with_option` / `with_listed_option`,
which return a clone and never touch the input handle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from diffusion.models.unet.hooks import UNetHooks
from diffusion.sampling.denoiser import DiscreteDenoiser, scalings

SAMPLER_CFG_FUNCTION = "sampler_cfg_function"
SAMPLER_POST_CFG_FUNCTION = "sampler_post_cfg_function"
SAMPLER_PRE_CFG_FUNCTION = "sampler_pre_cfg_function"
DENOISE_MASK_FUNCTION = "denoise_mask_function"
MODEL_SAMPLING = "model_sampling"
OUTPUT_BLOCK_PATCH = "output_block_patch"
ATTN1_REPLACE = "attn1_replace"
INPUT_BLOCK_PATCH = "input_block_patch"
INPUT_BLOCK_PATCH_AFTER_SKIP = "input_block_patch_after_skip"
ATTN1_PATCH = "attn1_patch"
ATTN1_OUTPUT_PATCH = "attn1_output_patch"
MIDDLE_PATCH = "middle_patch"
ATTN2_PATCH = "attn2_patch"
ATTN2_OUTPUT_PATCH = "attn2_output_patch"
ATTN2_REPLACE = "attn2_replace"
# option key -> UNetHooks field (the same name)
UNET_PATCH_OPTIONS = (OUTPUT_BLOCK_PATCH, ATTN1_REPLACE, INPUT_BLOCK_PATCH, INPUT_BLOCK_PATCH_AFTER_SKIP, ATTN1_PATCH,
                      ATTN1_OUTPUT_PATCH, MIDDLE_PATCH, ATTN2_PATCH, ATTN2_OUTPUT_PATCH, ATTN2_REPLACE)
DISABLE_CFG1_OPTIMIZATION = "disable_cfg1_optimization"
MODEL_FUNCTION_WRAPPER = "model_function_wrapper"
DIFFUSION_MODEL_WRAPPER = "diffusion_model_wrapper"


def _require_patcher(model: Any, node: str) -> None:
    if not callable(getattr(model, "clone", None)) or not isinstance(getattr(model, "options", None), dict):
        raise TypeError(f"{node}: input 'model' must be a MODEL (a model handle with clone() and options), "
                        f"got {type(model).__name__}")


def with_option(model: Any, key: str, value: Any, node: str = "model patch") -> Any:
    """A clone of `model` whose options[key] is `value`."""
    _require_patcher(model, node)
    clone = model.clone()
    clone.options = dict(clone.options)
    clone.options[key] = value
    return clone


def with_listed_option(model: Any, key: str, value: Any, node: str = "model patch") -> Any:
    """A clone of `model` with `value` appended to (a new copy of) the list options[key]."""
    _require_patcher(model, node)
    return with_option(model, key, [*model.options.get(key, ()), value], node)


def options_of(denoiser: Any) -> dict:
    """The options of the model handle a DiscreteDenoiser runs (empty when it has none)."""
    options = getattr(getattr(denoiser, "apply", None), "options", None)
    return options if isinstance(options, dict) else {}


def wants_negative_at_cfg1(options: dict) -> bool:
    return bool(options.get(DISABLE_CFG1_OPTIMIZATION, False))


def combine(cond_pred: torch.Tensor, uncond_pred: torch.Tensor, cfg: float, x: torch.Tensor, sigma: torch.Tensor,
            options: dict, positive: Any = None, negative: Any = None,
            calc_cond_batch: Callable | None = None) -> torch.Tensor:
    """Guided denoised from both sides' predictions, honouring the cfg and post-cfg hooks."""
    cfg_function = options.get(SAMPLER_CFG_FUNCTION)
    if cfg_function is not None:
        args = {"cond": x - cond_pred, "uncond": x - uncond_pred, "cond_scale": cfg, "timestep": sigma,
                "input": x, "sigma": sigma, "cond_denoised": cond_pred, "uncond_denoised": uncond_pred,
                "model_options": options, "calc_cond_batch": calc_cond_batch}
        result = x - cfg_function(args)
    else:
        result = uncond_pred + (cond_pred - uncond_pred) * cfg
    for post in options.get(SAMPLER_POST_CFG_FUNCTION, ()):
        args = {"denoised": result, "cond": positive, "uncond": negative, "cond_scale": cfg,
                "uncond_denoised": uncond_pred, "cond_denoised": cond_pred, "sigma": sigma,
                "model_options": options, "input": x, "calc_cond_batch": calc_cond_batch}
        result = post(args)
    return result


def pre_cfg(outs: list[torch.Tensor], conds: list, cfg: float, x: torch.Tensor, sigma: torch.Tensor,
            options: dict) -> list[torch.Tensor]:
    """The predictions after each sampler_pre_cfg_function in turn (unchanged without any)."""
    for function in options.get(SAMPLER_PRE_CFG_FUNCTION, ()):
        outs = list(function({"conds": conds, "conds_out": list(outs), "cond_scale": cfg, "timestep": sigma,
                              "input": x, "sigma": sigma, "model_options": options}))
        if len(outs) < len(conds):
            raise ValueError(f"a sampler_pre_cfg_function returned {len(outs)} predictions for {len(conds)} "
                             f"conditionings")
    return outs


def has_cfg_hooks(options: dict) -> bool:
    return SAMPLER_CFG_FUNCTION in options or bool(options.get(SAMPLER_POST_CFG_FUNCTION))


class _DefaultSampling:
    """A DiscreteDenoiser's own prediction (eps or v) and schedule in the ModelSamplingDiscrete shape."""

    def __init__(self, prediction: str, schedule: Any) -> None:
        self.prediction = prediction
        self.schedule = schedule

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        return self.schedule.timestep(sigma)

    def calculate_input(self, sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x * scalings(sigma, self.prediction)[2]

    def calculate_denoised(self, sigma: torch.Tensor, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        c_skip, c_out, _ = scalings(sigma, self.prediction)
        return c_skip * x + c_out * output


def unet_hooks_of(options: dict) -> UNetHooks | None:
    """The UNet patches named in `options`, or None when there are none."""
    present = {key: options[key] for key in UNET_PATCH_OPTIONS if options.get(key)}
    return UNetHooks(**present) if present else None


class HookedDenoiser:
    """D(x, sigma, context=, y=, concat=, hooks=) with a model-sampling override, UNet patches and wrappers."""

    def __init__(self, apply: Callable[..., torch.Tensor], sampling: Any, unet_hooks: UNetHooks | None = None,
                 model_wrapper: Callable | None = None, unet_wrapper: Callable | None = None) -> None:
        self.apply = apply
        self.sampling = sampling
        self.unet_hooks = unet_hooks
        self.model_wrapper = model_wrapper
        self.unet_wrapper = unet_wrapper

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor | None = None,
                 y: torch.Tensor | None = None, concat: torch.Tensor | None = None,
                 hooks: UNetHooks | None = None) -> torch.Tensor:
        if self.model_wrapper is None:
            return self._apply_model(x, sigma, context, y, concat, hooks)
        c = {"context": context, "y": y, "concat": concat, "hooks": hooks}
        sigmas = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1).expand(x.shape[0])
        return self.model_wrapper(self._apply_model, {"input": x, "timestep": sigmas, "c": c})

    def _apply_model(self, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor | None = None,
                     y: torch.Tensor | None = None, concat: torch.Tensor | None = None,
                     hooks: UNetHooks | None = None) -> torch.Tensor:
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        sigma_col = sigma.reshape(-1, *([1] * (x.ndim - 1))) if sigma.ndim else sigma
        x_in = self.sampling.calculate_input(sigma_col, x)
        if concat is not None:
            x_in = torch.cat([x_in, concat.to(dtype=x_in.dtype, device=x_in.device)], dim=1)
        timesteps = self.sampling.timestep(sigma.reshape(-1)).to(x.device)
        if timesteps.numel() == 1 and x.shape[0] > 1:
            timesteps = timesteps.expand(x.shape[0])
        combined = self.unet_hooks.merged(hooks) if self.unet_hooks is not None else hooks
        if combined is not None:
            combined = dataclasses.replace(combined, info={**combined.info, "sigmas": sigma.reshape(-1)})
        extra = {"hooks": combined} if combined is not None else {}
        if self.unet_wrapper is None:
            output = self.apply(x_in, timesteps, context=context, y=y, **extra)
        else:
            args = {"input": x_in, "timestep": timesteps, "sigmas": sigma.reshape(-1).expand(x.shape[0]),
                    "c": {"context": context, "y": y, **extra}}
            output = self.unet_wrapper(self.apply, args)
        if output.shape != x.shape:
            raise ValueError(f"the model returned shape {tuple(output.shape)} for an input of shape {tuple(x.shape)}")
        return self.sampling.calculate_denoised(sigma_col, output.to(x.dtype), x)


def hooked(denoiser: Any, options: dict) -> Any:
    """`denoiser`, or a HookedDenoiser in its place when the options override sampling or patch the UNet."""
    sampling = options.get(MODEL_SAMPLING)
    unet_hooks = unet_hooks_of(options)
    wrappers = options.get(MODEL_FUNCTION_WRAPPER), options.get(DIFFUSION_MODEL_WRAPPER)
    if (sampling is None and unet_hooks is None and wrappers == (None, None)) \
            or not isinstance(denoiser, DiscreteDenoiser):
        return denoiser
    if sampling is None:
        sampling = _DefaultSampling(denoiser.prediction, denoiser.schedule)
    return HookedDenoiser(denoiser.apply, sampling, unet_hooks, *wrappers)
