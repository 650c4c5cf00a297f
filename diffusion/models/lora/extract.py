"""A LoRA extracted from a weight difference (ComfyUI's LoraSave, comfy_extras/nodes_lora_extract.py).

`extract_lora(diff, rank)` is the truncated SVD of one weight difference: diff ≈ up @ down with
up = U[:, :r]·diag(S[:r]) and down = Vh[:r] (the best rank-r approximation in the Frobenius
norm). Convolutions are flattened to [out, in·k·k] first (a 1x1 kernel is squeezed), and the
factors come back as LoCon shapes: up [out, r, 1, 1], down [r, in, k, k]; as ComfyUI, r is at most
min(out, in) channels (not in·k·k), so a kernel with fewer inputs than outputs is never exact. Every
entry of both factors is then clamped to ±(the 0.99 quantile of all their entries), which trims
outliers; `clamp_quantile=None` skips that.

`lora_state_dict(diffs, ...)` turns the difference weights of a model (or of text encoders) into
the keys ComfyUI writes and our LoRA loader reads back:
`<prefix><module>.lora_up.weight` / `.lora_down.weight` (no alpha: scale 1) for matrices and
kernels, `<prefix><module>.diff` for the whole difference (lora_type "full_diff", or a 1-D weight
with bias_diff), `<prefix><module>.diff_b` for a bias (bias_diff). Tensors are stored in float16.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import torch

log = logging.getLogger(__name__)

CLAMP_QUANTILE = 0.99
LORA_TYPES = ("standard", "full_diff")


def extract_lora(diff: torch.Tensor, rank: int, clamp_quantile: float | None = CLAMP_QUANTILE):
    """(up, down) with up @ down the best rank-`rank` approximation of `diff` (then clamped, see above)."""
    if diff.ndim not in (2, 4):
        raise ValueError(f"a LoRA is extracted from a 2-D or 4-D weight, got shape {tuple(diff.shape)}")
    if rank < 1:
        raise ValueError(f"rank must be at least 1, got {rank}")
    out_dim, in_dim = diff.shape[0], diff.shape[1]
    kernel = tuple(diff.shape[2:]) if diff.ndim == 4 else None
    rank = min(rank, out_dim, in_dim)
    matrix = diff.reshape(out_dim, -1).float()
    u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
    up = u[:, :rank] * s[:rank]
    down = vh[:rank, :]
    if clamp_quantile is not None:
        high = torch.quantile(torch.cat([up.flatten(), down.flatten()]), clamp_quantile)
        up, down = up.clamp(-high, high), down.clamp(-high, high)
    if kernel is not None:
        up = up.reshape(out_dim, rank, 1, 1)
        down = down.reshape(rank, in_dim, *kernel)
    return up, down


def lora_state_dict(diffs: Mapping[str, torch.Tensor], rank: int, lora_type: str, bias_diff: bool, *,
                    prefix: str, skip_prefix: str = "") -> dict[str, torch.Tensor]:
    """The LoRA keys for every `.weight` / `.bias` difference in `diffs` (names without `skip_prefix`)."""
    if lora_type not in LORA_TYPES:
        raise ValueError(f"unknown lora_type {lora_type!r}; expected one of {', '.join(LORA_TYPES)}")
    out: dict[str, torch.Tensor] = {}
    for name, tensor in diffs.items():
        if not name.startswith(skip_prefix):
            continue
        stem = prefix + name[len(skip_prefix):]
        value = tensor.detach().float()
        if name.endswith(".weight"):
            module = stem[: -len(".weight")]
            if lora_type == "full_diff" or (value.ndim < 2 and bias_diff):
                out[f"{module}.diff"] = _stored(value)
            elif value.ndim >= 2:
                try:
                    up, down = extract_lora(value, rank)
                except (RuntimeError, ValueError) as exc:  # e.g. an SVD that does not converge
                    log.warning("could not extract LoRA weights for %s: %s", name, exc)
                    continue
                out[f"{module}.lora_up.weight"] = _stored(up)
                out[f"{module}.lora_down.weight"] = _stored(down)
        elif bias_diff and name.endswith(".bias"):
            out[f"{stem[: -len('.bias')]}.diff_b"] = _stored(value)
    return out


def _stored(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.contiguous().half().cpu()
