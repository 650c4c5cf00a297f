"""Token merging for self-attention (ToMe for SD, Bolya & Hoffman 2023), as ComfyUI's TomePatchModel.

At the full-resolution transformers only, the self-attention queries [B, N, C] are merged before
attention and the output is unmerged after it:
- the h x w token grid is cut into 2x2 regions (the top-left part that 2 divides); one token per
  region, drawn at random, is a destination, every other token a source;
- each source finds its most similar destination (cosine similarity); the r = int(N * ratio) sources
  with the highest similarity are merged into their destination (the mean of the destination and
  every source merged into it), the other sources stay;
- unmerging gives every merged source its destination's value back.
Keys and values stay unmerged (as in ComfyUI: the merged queries attend to every token).
Ratio 0 is the identity. Differs from ComfyUI: the destinations are drawn from a generator seeded
by a call counter (ComfyUI draws from the global torch generator).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

STRIDE = 2


def _nothing(x: torch.Tensor) -> torch.Tensor:
    return x


def destination_mask(h: int, w: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """[h*w] bool: one destination per 2x2 region of the top-left (h//2*2) x (w//2*2) block (random, or top-left)."""
    rows, cols = h // STRIDE, w // STRIDE
    mask = torch.zeros(h, w, dtype=torch.bool)
    if generator is None:
        picks = torch.zeros(rows, cols, dtype=torch.int64)
    else:
        picks = torch.randint(STRIDE * STRIDE, (rows, cols), generator=generator)
    r = torch.arange(rows).reshape(-1, 1) * STRIDE + picks // STRIDE
    c = torch.arange(cols).reshape(1, -1) * STRIDE + picks % STRIDE
    mask[r, c] = True
    return mask.reshape(-1)


def bipartite_soft_matching(metric: torch.Tensor, h: int, w: int, r: int,
                            generator: torch.Generator | None = None) -> tuple[Callable, Callable]:
    """(merge, unmerge) for tokens [B, h*w, C] compared by `metric`, merging r sources into destinations."""
    batch, tokens, _ = metric.shape
    if r <= 0 or h == 1 or w == 1:
        return _nothing, _nothing
    if tokens != h * w:
        raise ValueError(f"ToMe: {tokens} tokens do not form a {h} x {w} grid")
    is_dst = destination_mask(h, w, generator).to(metric.device)
    dst_idx_all = is_dst.nonzero().reshape(-1)
    src_idx_all = (~is_dst).nonzero().reshape(-1)
    with torch.no_grad():
        unit = metric / metric.norm(dim=-1, keepdim=True)
        scores = unit[:, src_idx_all] @ unit[:, dst_idx_all].transpose(-1, -2)
        r = min(r, src_idx_all.numel())
        best, best_dst = scores.max(dim=-1)
        order = best.argsort(dim=-1, descending=True)
        merged_src, kept_src = order[:, :r], order[:, r:]
        target = best_dst.gather(1, merged_src)

    def take(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))

    def merge(x: torch.Tensor) -> torch.Tensor:
        src, dst = x[:, src_idx_all], x[:, dst_idx_all]
        index = target.unsqueeze(-1).expand(-1, -1, x.shape[-1])
        dst = dst.scatter_reduce(1, index, take(src, merged_src), reduce="mean")
        return torch.cat([take(src, kept_src), dst], dim=1)

    def unmerge(x: torch.Tensor) -> torch.Tensor:
        kept = kept_src.shape[1]
        unm, dst = x[:, :kept], x[:, kept:]
        out = torch.zeros(x.shape[0], tokens, x.shape[-1], device=x.device, dtype=x.dtype)
        out[:, dst_idx_all] = dst
        rows = torch.arange(x.shape[0], device=x.device).reshape(-1, 1)
        out[rows, src_idx_all[kept_src]] = unm
        out[rows, src_idx_all[merged_src]] = take(dst, target)
        return out

    return merge, unmerge


def merge_functions(x: torch.Tensor, ratio: float, original_shape: list[int],
                    generator: torch.Generator | None = None) -> tuple[Callable, Callable]:
    """ComfyUI's choice: merge only at the full-resolution transformers (tokens == H * W)."""
    height, width = original_shape[-2], original_shape[-1]
    downsample = int(math.ceil(math.sqrt((height * width) // x.shape[1])))
    if downsample > 1:
        return _nothing, _nothing
    h, w = int(math.ceil(height / downsample)), int(math.ceil(width / downsample))
    return bipartite_soft_matching(x, h, w, int(x.shape[1] * ratio), generator)


def tome_patches(ratio: float) -> tuple[Callable, Callable]:
    """The (attn1_patch, attn1_output_patch) pair of TomePatchModel."""
    state: dict = {"counter": 0, "unmerge": _nothing}

    def merge_in(n: torch.Tensor, context, value, info: dict):
        state["counter"] += 1
        generator = torch.Generator().manual_seed(state["counter"])
        merge, state["unmerge"] = merge_functions(n, ratio, info["original_shape"], generator)
        keys = n if context is None else context
        return merge(n), keys, keys if value is None else value

    def unmerge_out(out: torch.Tensor, info: dict) -> torch.Tensor:
        unmerge, state["unmerge"] = state["unmerge"], _nothing
        return unmerge(out)

    return merge_in, unmerge_out
