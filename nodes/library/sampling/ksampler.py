"""KSampler and KSamplerAdvanced: denoise a LATENT with a model and positive/negative conditioning.

The work is `diffusion.sampling.sample` (ComfyUI's noise, schedules, samplers and CFG); these
nodes check their inputs (errors name the node input), put the UNet on the compute device
through the model manager, report one progress step per sampler step with a latent2rgb
preview (unless the prompt's preview method is "none"), and stop cleanly between model
evaluations when the prompt is interrupted. The output LATENT is a new dict: the input's
keys (batch_index, noise_mask, ...) with fresh unscaled samples, as ComfyUI returns it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diffusion.sampling.names import SAMPLER_NAMES, SCHEDULER_NAMES
from folders.file_identity import file_identity
from graph.context import PreviewImage
from nodes.api.declare import Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.api.runtime import preview_method, previews_enabled

# The engine (and torch) is imported when a sampler node runs, not when the registry is built.
torch = lazy_import("torch")
planner = lazy_import("diffusion.memory.planner")
sampling = lazy_import("diffusion.sampling.sample")
sampling_noise = lazy_import("diffusion.sampling.noise")
previews = lazy_import("diffusion.sampling.previews")
conditioning_models = lazy_import("nodes.library.sampling.conditioning_models")

MAX_SEED = 0xFFFFFFFFFFFFFFFF
SEED_TOOLTIP = "The random seed used for creating the noise."


def require_model(model: Any, node: str, name: str = "model") -> Any:
    info = getattr(model, "model_info", None)
    if info is None or getattr(info, "latent_format", None) is None:
        raise TypeError(f"{node}: input '{name}' must be a MODEL (a loaded diffusion model), got {type(model).__name__}")
    return model


def require_latent(latent: Any, node: str, name: str = "latent_image") -> dict:
    if not isinstance(latent, dict) or not isinstance(latent.get("samples"), torch.Tensor):
        raise TypeError(f"{node}: input '{name}' must be a LATENT dict with 'samples', got {type(latent).__name__}")
    return latent


def require_conditioning(value: Any, node: str, name: str) -> list:
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(e, (list, tuple)) and len(e) == 2 and isinstance(e[0], torch.Tensor) for e in value):
        raise TypeError(f"{node}: input '{name}' must be a CONDITIONING list of [tensor, dict] pairs")
    return list(value)


def check_noise_mask(latent: dict, node: str, name: str = "latent_image") -> torch.Tensor | None:
    """The latent's noise mask, or None; a clear error when malformed.

    Any size is fine (the sampler resizes it to the latent) and, as in ComfyUI, the masks are
    cycled or cut to the batch size.
    """
    mask = latent.get("noise_mask")
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or mask.ndim not in (2, 3, 4) or mask.numel() == 0:
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"{node}: input '{name}' has a noise_mask that is not a [batch, height, width] mask: {got}")
    return mask


def fitted_latent(model: Any, latent: dict, node: str, name: str = "latent_image") -> torch.Tensor:
    """The latent's samples checked against the model (an empty latent is widened); errors name the input."""
    try:
        return sampling.fit_latent_channels(model, latent["samples"])
    except ValueError as exc:
        raise ValueError(f"{node}: input '{name}': {exc}") from None


def noise_for(latent: dict, samples: torch.Tensor, seed: int, add_noise: bool, node: str, name: str) -> torch.Tensor:
    """ComfyUI's initial noise for the latent (zeros when noise is disabled)."""
    if not add_noise:
        return torch.zeros(samples.shape, dtype=samples.dtype, device="cpu")
    try:
        return sampling_noise.prepare_noise(samples, seed, latent.get("batch_index"))
    except ValueError as exc:
        raise ValueError(f"{node}: input '{name}': {exc}") from None


def _taesd_decoder(ctx: Any, latent_format: Any) -> Any:
    """The format's TAESD decoder from models/vae_approx/ (cached by file), or None without one."""
    if ctx.runtime is None or preview_method(ctx) not in ("auto", "taesd"):
        return None
    path = previews.taesd_decoder_path(latent_format, ctx.runtime.folders.model_paths("vae_approx"))
    if path is None:
        return None
    return ctx.runtime.models.files.raw(("taesd_decoder", *file_identity(path)),
                                        lambda: previews.load_taesd_decoder(path))


def load_for_sampling(ctx: Any, model: Any, samples: Any, evaluations: int = 2, conditionings: Any = ()) -> None:
    """Put the model on the device with room for one step's activations on `samples` (the planner streams
    a model that cannot fit beside them); a model without a UNet config loads with no estimate. The
    ControlNets and GLIGEN models the `conditionings` carry load in the same call (counted together, never
    evicted for each other; nodes/library/sampling/conditioning_models.py)."""
    config = getattr(getattr(model, "model", None), "config", None)
    work = 0
    if config is not None and hasattr(config, "channel_mult"):
        dtype = getattr(ctx.runtime.models.choice, "unet_dtype", None)
        dtype_bytes = dtype.itemsize if dtype is not None else 4
        work = planner.unet_config_step_bytes(config, tuple(samples.shape), dtype_bytes=dtype_bytes,
                                              evaluations=evaluations)
    extra = conditioning_models.conditioning_patchers(ctx.runtime.models, model, conditionings)
    ctx.runtime.models.load([model, *extra], work_bytes=work)


def step_callback(ctx: Any, model: Any, total_steps: int) -> Callable[[int, torch.Tensor, torch.Tensor, int], None]:
    """The per-step callback: progress (step + 1 of total) with a preview (TAESD when the preview method
    is auto/taesd and models/vae_approx/ has the decoder, else latent2rgb) when previews are on."""
    latent_format = previews.preview_format(model)  # the model's latent format (the demo model's own preview)
    to_rgb = previews.preview_function(preview_method(ctx), latent_format, _taesd_decoder(ctx, latent_format)) \
        if previews_enabled(ctx) else None

    def callback(step: int, x0: torch.Tensor, x: torch.Tensor, total: int) -> None:
        preview = None
        if to_rgb is not None:
            preview = PreviewImage("JPEG", previews.encode_preview(to_rgb(x0), "JPEG"))
        ctx.progress(step + 1, total or total_steps, preview)

    return callback


def sample_latent(ctx: Any, node: str, *, model, seed, steps, cfg, sampler_name, scheduler, positive, negative,
                  latent_image, denoise=1.0, add_noise=True, start_step=None, last_step=None,
                  force_full_denoise=False, seed_input: str = "seed", on_step=None) -> dict:
    """ComfyUI's common_ksampler: noise, sample, and a new LATENT dict.

    `on_step(step, x0, x, total)`, if given, sees every step before progress is reported
    (DenoiseFilmstrip records the denoised predictions with it)."""
    model = require_model(model, node)
    latent = require_latent(latent_image, node)
    positive = require_conditioning(positive, node, "positive")
    negative = require_conditioning(negative, node, "negative")
    samples = fitted_latent(model, latent, node)
    noise_mask = check_noise_mask(latent, node)
    noise = noise_for(latent, samples, seed, add_noise, node, seed_input)
    report = step_callback(ctx, model, steps)
    if on_step is not None:
        def callback(step, x0, x, total):
            on_step(step, x0, x, total)
            report(step, x0, x, total)
    else:
        callback = report
    load_for_sampling(ctx, model, samples, conditionings=(positive, negative))
    out = sampling.sample(model, noise, positive, negative, cfg=cfg, sampler_name=sampler_name, scheduler=scheduler,
                          steps=steps, latent=samples, denoise=denoise, start_step=start_step, last_step=last_step,
                          force_full_denoise=force_full_denoise, noise_mask=noise_mask, seed=seed,
                          callback=callback, interrupt_check=ctx.check_interrupted)
    result = dict(latent)  # ComfyUI keeps every key (batch_index, noise_mask) and replaces the samples
    result["samples"] = out
    return result


def sampler_inputs(seed_name: str) -> list:
    """The inputs KSampler and KSamplerAdvanced share, from the seed to the latent."""
    return [
        Int(seed_name, default=0, min=0, max=MAX_SEED, control_after_generate=True, tooltip=SEED_TOOLTIP),
        Int("steps", default=20, min=1, max=10000, tooltip="The number of steps used in the denoising process."),
        Float("cfg", default=8.0, min=0.0, max=100.0, step=0.1, round=0.01,
              tooltip="The Classifier-Free Guidance scale balances creativity and adherence to the prompt."),
        Combo("sampler_name", SAMPLER_NAMES, tooltip="The algorithm used when sampling."),
        Combo("scheduler", SCHEDULER_NAMES, tooltip="The scheduler controls how noise is gradually removed."),
        Socket("CONDITIONING", "positive", tooltip="The conditioning describing the attributes to include."),
        Socket("CONDITIONING", "negative", tooltip="The conditioning describing the attributes to exclude."),
        Socket("LATENT", "latent_image", tooltip="The latent image to denoise."),
    ]


class KSampler(Node):
    node_id = "KSampler"
    display_name = "KSampler"
    category = "sampling"
    description = "Uses the provided model, positive and negative conditioning to denoise the latent image."
    inputs = [
        Socket("MODEL", "model", tooltip="The model used for denoising the input latent."),
        *sampler_inputs("seed"),
        Float("denoise", default=1.0, min=0.0, max=1.0, step=0.01,
              tooltip="The amount of denoising applied, lower values will maintain the structure of the initial "
                      "image allowing for image to image sampling."),
    ]
    outputs = [Out("LATENT", tooltip="The denoised latent.")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, seed: int, steps: int, cfg: float, sampler_name: str, scheduler: str,
            positive: Any, negative: Any, latent_image: Any, denoise: float = 1.0) -> tuple:
        return (sample_latent(ctx, cls.node_id, model=model, seed=seed, steps=steps, cfg=cfg,
                              sampler_name=sampler_name, scheduler=scheduler, positive=positive, negative=negative,
                              latent_image=latent_image, denoise=denoise),)


class KSamplerAdvanced(Node):
    node_id = "KSamplerAdvanced"
    display_name = "KSampler (Advanced)"
    category = "sampling"
    inputs = [
        Socket("MODEL", "model"),
        Combo("add_noise", ("enable", "disable")),
        *sampler_inputs("noise_seed"),
        Int("start_at_step", default=0, min=0, max=10000),
        Int("end_at_step", default=10000, min=0, max=10000),
        Combo("return_with_leftover_noise", ("disable", "enable")),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, add_noise: str, noise_seed: int, steps: int, cfg: float,
            sampler_name: str, scheduler: str, positive: Any, negative: Any, latent_image: Any,
            start_at_step: int, end_at_step: int, return_with_leftover_noise: str) -> tuple:
        return (sample_latent(ctx, cls.node_id, model=model, seed=noise_seed, steps=steps, cfg=cfg,
                              sampler_name=sampler_name, scheduler=scheduler, positive=positive, negative=negative,
                              latent_image=latent_image, denoise=1.0, add_noise=(add_noise != "disable"),
                              start_step=start_at_step, last_step=end_at_step,
                              force_full_denoise=(return_with_leftover_noise == "disable"),
                              seed_input="noise_seed"),)


NODES = [KSampler, KSamplerAdvanced]
