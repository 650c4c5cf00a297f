"""More guidance rules patch nodes install as model options (model_hooks.py describes each hook's args).

Pre-cfg rules (sampler_pre_cfg_function; they rewrite the predictions [cond, uncond, ...] before CFG):
- `adaptive_projected_guidance(eta, norm_threshold, momentum)` (APG, Sadat et al. 2024): the
  guidance g = cond - uncond is, in turn, accumulated g <- momentum * g_prev + g (when momentum != 0;
  the running sum restarts when sigma rises, i.e. a new run), scaled per image to a norm of at most
  norm_threshold (when > 0), and split into its part along cond and the rest; the cond becomes
  uncond + (g_orthogonal + eta * g_parallel) + (cond - uncond) / cfg, so that CFG gives
  cond + cfg * (g_orthogonal + eta * g_parallel). At cfg 0 the guided result is uncond whatever the
  cond, and the predictions are left as they are (ComfyUI divides by 0 there).
- `tangential_damping()` (TCFG, arXiv 2503.18137): with the scores s_c = x - cond and s_u = x - uncond
  flattened per image, v1 the first right singular vector of the 2-row matrix [s_u; s_c], the uncond
  becomes x - (s_u . v1) v1. Skipped when either side was not evaluated.
- `frequency_scaled_guidance(scale_low, scale_high, freq_cutoff)` (FreSca): the guidance's 2-D Fourier
  transform (centred) is multiplied by scale_low in the square of half-width freq_cutoff around the
  centre (Python slice rules, as ComfyUI: a cutoff wider than the latent wraps or covers it) and by
  scale_high elsewhere; the cond becomes uncond + the filtered guidance.
- `latent_operation_cfg(operation)` (LatentApplyOperationCFG): with two predictions the cond becomes
  operation(latent=cond - uncond) + uncond, otherwise operation(latent=cond).
Cfg functions (sampler_cfg_function; return x - guided denoised):
- `renorm_cfg(cfg_trunc, renorm)` (RenormCFG, Lumina): below sigma cfg_trunc the CFG result
  uncond + cfg (cond - uncond) is scaled down per image so its norm (over C, H, W) is at most renorm x
  the cond's (renorm 0: no cap); at sigma >= cfg_trunc the result is the cond. ComfyUI splits the
  channels at the UNet's in_channels; for the SD families (4 or 9 input, 4 output channels) that keeps
  every channel. ComfyUI caps the whole batch at once and fails for batches over 1; here each image.
- `perp_neg_cfg(empty, neg_scale, family, schedule)` (PerpNeg): the empty conditioning's prediction e is
  made with the guider's calc_cond_batch, and the result is `guiders.perp_neg(cond, uncond, e, ...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from diffusion.sampling.conds import prepare_conditioning
from diffusion.sampling.guiders import perp_neg

_IMAGE_DIMS = (-1, -2, -3)


def project(v0: torch.Tensor, v1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(part of v0 along v1, the rest), per image over the last three dims."""
    unit = torch.nn.functional.normalize(v1, dim=_IMAGE_DIMS)
    parallel = (v0 * unit).sum(dim=_IMAGE_DIMS, keepdim=True) * unit
    return parallel, v0 - parallel


def adaptive_projected_guidance(eta: float, norm_threshold: float, momentum: float) -> Callable[[dict], list]:
    """A sampler_pre_cfg_function (APG); it keeps the momentum's running sum between calls."""
    state: dict[str, Any] = {"running": None, "sigma": None}

    def function(args: dict) -> list:
        outs = args["conds_out"]
        if len(outs) == 1:
            return outs
        cond, uncond = outs[0], outs[1]
        sigma, cfg = float(args["sigma"][0]), args["cond_scale"]
        if state["sigma"] is not None and sigma > state["sigma"]:
            state["running"] = None
        state["sigma"] = sigma
        guidance = cond - uncond
        if momentum != 0:
            running = state["running"]
            state["running"] = guidance if running is None else momentum * running + guidance
            guidance = state["running"]
        if norm_threshold > 0:
            norm = guidance.norm(p=2, dim=_IMAGE_DIMS, keepdim=True)
            guidance = guidance * torch.minimum(torch.ones_like(norm), norm_threshold / norm)
        if cfg == 0:
            return list(outs)
        parallel, orthogonal = project(guidance, cond)
        modified = uncond + (orthogonal + eta * parallel) + (cond - uncond) / cfg
        return [modified, uncond, *outs[2:]]

    return function


def tangential_damping() -> Callable[[dict], list]:
    """A sampler_pre_cfg_function (TCFG)."""

    def function(args: dict) -> list:
        outs, conds = args["conds_out"], args["conds"]
        if len(outs) <= 1 or any(side is None for side in conds[:2]):
            return outs
        x = args["input"]
        batch = x.shape[0]
        score_c = (x - outs[0]).reshape(batch, 1, -1).float()
        score_u = (x - outs[1]).reshape(batch, 1, -1).float()
        _, _, vh = torch.linalg.svd(torch.cat((score_u, score_c), dim=1), full_matrices=False)
        top = vh[:, 0:1, :]
        damped = (score_u @ top.transpose(-2, -1)) * top
        return [outs[0], x - damped.reshape_as(outs[1]).to(outs[1].dtype), *outs[2:]]

    return function


def fourier_filter(x: torch.Tensor, scale_low: float, scale_high: float, freq_cutoff: int) -> torch.Tensor:
    """x [B, C, H, W] with its centred spectrum scaled: scale_low near the centre, scale_high elsewhere."""
    spectrum = torch.fft.fftshift(torch.fft.fftn(x.float(), dim=(-2, -1)), dim=(-2, -1))
    height, width = spectrum.shape[-2:]
    row, col = height // 2, width // 2
    scale = torch.full(spectrum.shape, float(scale_high), device=x.device)
    scale[..., row - freq_cutoff:row + freq_cutoff, col - freq_cutoff:col + freq_cutoff] = float(scale_low)
    spectrum = torch.fft.ifftshift(spectrum * scale, dim=(-2, -1))
    return torch.fft.ifftn(spectrum, dim=(-2, -1)).real.to(x.dtype)


def frequency_scaled_guidance(scale_low: float, scale_high: float, freq_cutoff: int) -> Callable[[dict], list]:
    """A sampler_pre_cfg_function (FreSca)."""

    def function(args: dict) -> list:
        outs = args["conds_out"]
        cond, uncond = outs[0], outs[1]
        filtered = fourier_filter(cond - uncond, scale_low, scale_high, freq_cutoff)
        return [filtered + uncond, uncond, *outs[2:]]

    return function


def latent_operation_cfg(operation: Callable[..., torch.Tensor]) -> Callable[[dict], list]:
    """A sampler_pre_cfg_function (LatentApplyOperationCFG)."""

    def function(args: dict) -> list:
        outs = list(args["conds_out"])
        if len(outs) == 2:
            outs[0] = operation(latent=outs[0] - outs[1]) + outs[1]
        else:
            outs[0] = operation(latent=outs[0])
        return outs

    return function


def _image_norm(t: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(t, dim=tuple(range(1, t.ndim)), keepdim=True)


def renorm_cfg(cfg_trunc: float, renorm: float) -> Callable[[dict], torch.Tensor]:
    """A sampler_cfg_function (RenormCFG)."""

    def function(args: dict) -> torch.Tensor:
        cond, uncond, x = args["cond_denoised"], args["uncond_denoised"], args["input"]
        if not float(args["timestep"][0]) < cfg_trunc:
            return x - cond
        guided = uncond + args["cond_scale"] * (cond - uncond)
        if renorm > 0:
            cap = _image_norm(cond) * renorm
            norm = _image_norm(guided)
            guided = torch.where(norm >= cap, guided * (cap / norm), guided)
        return x - guided

    return function


def perp_neg_cfg(empty: list, neg_scale: float, family: str, schedule: Any) -> Callable[[dict], torch.Tensor]:
    """A sampler_cfg_function (PerpNeg); `empty` is the raw empty conditioning, prepared per latent shape."""
    prepared: dict[tuple, list] = {}

    def function(args: dict) -> torch.Tensor:
        evaluate = args.get("calc_cond_batch")
        if evaluate is None:
            raise RuntimeError("PerpNeg needs a guider that can re-run the model (calc_cond_batch)")
        x = args["input"]
        shape = tuple(x.shape)
        if shape not in prepared:
            prepared[shape] = prepare_conditioning(empty, which="negative", latent_shape=shape, schedule=schedule,
                                                   family=family)
        (nocond,) = evaluate([prepared[shape]], x, args["sigma"], args["model_options"])
        return x - perp_neg(args["cond_denoised"], args["uncond_denoised"], nocond, neg_scale, args["cond_scale"])

    return function
