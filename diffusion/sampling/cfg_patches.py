"""Guidance rules that patch nodes install as model options (see model_hooks.py for the args).

- `rescale_cfg(multiplier)` (sampler_cfg_function; Lin et al., "Common Diffusion Noise Schedules
  and Sample Steps are Flawed"): guidance in v space, v_cfg = v_u + cfg * (v_c - v_u), rescaled to
  the standard deviation (over C, H, W) of v_c, blended multiplier * rescaled + (1 - multiplier) * v_cfg.
  v is computed from x and the denoised as if the model predicted v (v = (x/(s^2+1) - D) sqrt(s^2+1) / s).
- `cfg_zero_star()` (post-cfg; CFG-Zero*): with alpha = <x - D_c, x - D_u> / |x - D_u|^2 per image,
  the guided result becomes denoised + D_u (alpha - 1) + cfg D_u (1 - alpha).
- `cfg_norm(strength)` (post-cfg): the guided result scaled per pixel by
  min(1, |D_c| / |denoised|) (norms over channels), times strength.
- `perturbed_attention_guidance(scale)` (post-cfg; Ahn et al., PAG): the positive is run once more
  with the middle block's self-attention replaced by its values (attention = identity), giving
  D_pag; the result is denoised + scale * (D_c - D_pag).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from diffusion.sampling import model_hooks

PAG_BLOCK = ("middle", 0)


def _column(sigma: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return sigma.reshape(sigma.shape[:1] + (1,) * (like.ndim - 1))


def rescale_cfg(multiplier: float) -> Callable[[dict], torch.Tensor]:
    """A sampler_cfg_function: returns x - guided denoised."""

    def function(args: dict) -> torch.Tensor:
        x_orig = args["input"]
        sigma = _column(args["sigma"], x_orig)
        x = x_orig / (sigma ** 2 + 1.0)
        root = (sigma ** 2 + 1.0) ** 0.5
        v_cond = (x - (x_orig - args["cond"])) * root / sigma
        v_uncond = (x - (x_orig - args["uncond"])) * root / sigma
        v_cfg = v_uncond + args["cond_scale"] * (v_cond - v_uncond)
        dims = tuple(range(1, v_cfg.ndim))
        rescaled = v_cfg * (v_cond.std(dim=dims, keepdim=True) / v_cfg.std(dim=dims, keepdim=True))
        v_final = multiplier * rescaled + (1.0 - multiplier) * v_cfg
        return x_orig - (x - v_final * sigma / root)

    return function


def optimized_scale(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Per image <positive, negative> / (|negative|^2 + 1e-8), shaped [B, 1, 1, ...]."""
    pos = positive.reshape(positive.shape[0], -1)
    neg = negative.reshape(negative.shape[0], -1)
    alpha = (pos * neg).sum(dim=1, keepdim=True) / ((neg ** 2).sum(dim=1, keepdim=True) + 1e-8)
    return alpha.reshape([positive.shape[0]] + [1] * (positive.ndim - 1))


def cfg_zero_star() -> Callable[[dict], torch.Tensor]:
    """A sampler_post_cfg_function (CFGZeroStar)."""

    def function(args: dict) -> torch.Tensor:
        x = args["input"]
        cond, uncond = args["cond_denoised"], args["uncond_denoised"]
        alpha = optimized_scale(x - cond, x - uncond)
        return args["denoised"] + uncond * (alpha - 1.0) + args["cond_scale"] * uncond * (1.0 - alpha)

    return function


def cfg_norm(strength: float) -> Callable[[dict], torch.Tensor]:
    """A sampler_post_cfg_function (CFGNorm)."""

    def function(args: dict) -> torch.Tensor:
        guided = args["denoised"]
        cond_norm = torch.norm(args["cond_denoised"], dim=1, keepdim=True)
        guided_norm = torch.norm(guided, dim=1, keepdim=True)
        scale = (cond_norm / (guided_norm + 1e-8)).clamp(min=0.0, max=1.0)
        return guided * scale * strength

    return function


def _identity_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, info: dict) -> torch.Tensor:
    return v


def perturbed_attention_guidance(scale: float) -> Callable[[dict], torch.Tensor]:
    """A sampler_post_cfg_function (PerturbedAttentionGuidance)."""

    def function(args: dict) -> torch.Tensor:
        if scale == 0:
            return args["denoised"]
        evaluate = args.get("calc_cond_batch")
        if evaluate is None:
            raise RuntimeError("PerturbedAttentionGuidance needs a guider that can re-run the model (calc_cond_batch)")
        options = dict(args["model_options"])
        options[model_hooks.ATTN1_REPLACE] = {**options.get(model_hooks.ATTN1_REPLACE, {}),
                                              PAG_BLOCK: _identity_attention}
        (perturbed,) = evaluate([args["cond"]], args["input"], args["sigma"], options)
        return args["denoised"] + (args["cond_denoised"] - perturbed) * scale

    return function
