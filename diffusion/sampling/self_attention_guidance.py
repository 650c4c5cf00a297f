"""Self-Attention Guidance (Hong et al., 2023), as ComfyUI's SelfAttentionGuidance node computes it.

At each step, after CFG (a sampler_post_cfg_function):
1. the unconditional prediction's self-attention in the first transformer of the UNet middle block
   is recorded (softmax scores [B * heads, tokens, tokens]); keys that receive more than 1 in total
   (averaged over heads, summed over queries) form a mask on the middle block's grid;
2. the mask, upsampled (nearest) to the latent, selects where the unconditional prediction is
   replaced by its Gaussian blur (9 taps, blur_sigma; reflect padding): `degraded`;
3. the unconditional side is run again at degraded + (x - uncond) and the result moves by
   scale * (degraded - that prediction).
Latents of 4 pixels or fewer on a side are left alone. Differs from ComfyUI: the attention is
recorded in a separate unconditional pass (one extra model call per step), and blur_sigma 0
means no blur (ComfyUI divides by zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from diffusion.sampling import model_hooks

SAG_BLOCK = ("middle", 0)
KERNEL_SIZE = 9
THRESHOLD = 1.0
MIN_SIZE = 4


def attention_with_scores(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                          heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention of [B, tokens, inner] q, k, v: (output [B, tokens, inner], scores [B * heads, tokens, tokens])."""
    batch, tokens, inner = q.shape
    dim = inner // heads
    q, k, v = (t.reshape(batch, -1, heads, dim).transpose(1, 2) for t in (q, k, v))
    scores = torch.softmax((q.float() @ k.float().transpose(-1, -2)) * dim ** -0.5, dim=-1).to(v.dtype)
    out = (scores @ v).transpose(1, 2).reshape(batch, tokens, inner)
    return out, scores.reshape(batch * heads, tokens, -1)


def gaussian_blur(image: torch.Tensor, kernel_size: int, sigma: float) -> torch.Tensor:
    """Per-channel separable Gaussian blur of [B, C, H, W] with reflect padding (sigma 0: unchanged)."""
    if sigma == 0:
        return image
    half = (kernel_size - 1) * 0.5
    taps = torch.exp(-0.5 * (torch.linspace(-half, half, kernel_size) / sigma) ** 2)
    taps = (taps / taps.sum()).to(device=image.device, dtype=image.dtype)
    kernel = (taps[:, None] @ taps[None, :]).expand(image.shape[1], 1, kernel_size, kernel_size)
    pad = kernel_size // 2
    return F.conv2d(F.pad(image, [pad, pad, pad, pad], mode="reflect"), kernel, groups=image.shape[1])


def _grid(tokens: int, height: int, width: int) -> tuple[int, int] | None:
    """(rows, columns) of the attention grid: the divisor of `tokens` nearest the latent's aspect."""
    guess = round(math.sqrt(height / width * tokens))
    for step in range(math.floor(math.sqrt(tokens) / 2)):
        for rows in (guess + step, max(1, guess - step)):
            if tokens % rows == 0:
                return rows, tokens // rows
    return None


def blur_map(x0: torch.Tensor, scores: torch.Tensor, sigma: float, threshold: float = THRESHOLD) -> torch.Tensor | None:
    """x0 blurred where the attention mask of `scores` [B * heads, tokens, tokens] is set, else unchanged.

    None when no grid of the latent's aspect holds the tokens.
    """
    batch, _, height, width = x0.shape
    tokens = scores.shape[-1]
    per_head = scores.reshape(batch, -1, scores.shape[-2], tokens)
    mask = per_head.mean(1).sum(1) > threshold
    grid = _grid(tokens, height, width)
    if grid is None:
        return None
    mask = F.interpolate(mask.reshape(batch, 1, *grid).to(x0.dtype), (height, width))
    return gaussian_blur(x0, KERNEL_SIZE, sigma) * mask + x0 * (1 - mask)


def self_attention_guidance(scale: float, blur_sigma: float) -> Callable[[dict], torch.Tensor]:
    """A sampler_post_cfg_function (SelfAttentionGuidance); needs the negative evaluated at cfg 1 too."""

    def function(args: dict) -> torch.Tensor:
        guided, x, sigma = args["denoised"], args["input"], args["sigma"]
        if min(guided.shape[2:]) <= MIN_SIZE:
            return guided
        evaluate = args.get("calc_cond_batch")
        if evaluate is None:
            raise RuntimeError("SelfAttentionGuidance needs a guider that can re-run the model (calc_cond_batch)")
        recorded: list[torch.Tensor] = []

        def record(q, k, v, info):
            heads = info["n_heads"]
            out, scores = attention_with_scores(q, k, v, heads)
            if info.get("transformer_index", 0) == 0 and not recorded:
                recorded.append(scores[: guided.shape[0] * heads])  # the first uncond item's images
            return out

        options = dict(args["model_options"])
        options[model_hooks.ATTN1_REPLACE] = {**options.get(model_hooks.ATTN1_REPLACE, {}), SAG_BLOCK: record}
        evaluate([args["uncond"]], x, sigma, options)
        if not recorded:
            return guided
        uncond = args["uncond_denoised"]
        degraded = blur_map(uncond, recorded[0], blur_sigma)
        if degraded is None:
            return guided
        (sag,) = evaluate([args["uncond"]], degraded + x - uncond, sigma, args["model_options"])
        return guided + (degraded - sag) * scale

    return function
