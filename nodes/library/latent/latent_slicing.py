"""LATENT nodes that join and cut along an axis: LatentConcat, LatentCut, LatentCutToBatch.

Ids, inputs, defaults and output order are ComfyUI's (comfy_extras/nodes_latent.py). The axes
are named x (width), y (height) and t (frames of a 5-D video latent [B, C, T, H, W]). Each
node returns a new dict holding its (first) input's other keys unchanged, as ComfyUI does:
noise_mask and batch_index are not cut along with the samples.

One difference from ComfyUI: there, "t" on a 4-D image latent names the channel axis, so
LatentConcat and LatentCut would join or cut channels and give a latent no model can use;
here that is a clear error. LatentCutToBatch leaves a 4-D latent unchanged for "t", as
ComfyUI does (it is that node's default).
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Combo, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.latent.latent_math import repeat_to_batch, require_samples
from nodes.library.latent.latent_ops import MAX_RESOLUTION, with_samples

torch = lazy_import("torch")

CONCAT_DIRECTIONS = ("x", "-x", "y", "-y", "t", "-t")
CUT_AXES = ("x", "y", "t")
CUT_TO_BATCH_AXES = ("t", "x", "y")
# Axis name -> its position counted from the end of the shape.
AXIS_FROM_END = {"x": 1, "y": 2, "t": 3}


def axis_of(name: str, tensor: torch.Tensor, node: str, input_name: str = "dim") -> int:
    """The tensor dimension of axis `name` ("x", "y", "t", optionally with a leading "-")."""
    axis = name.lstrip("-")
    if axis not in AXIS_FROM_END:
        raise ValueError(f"{node}: {input_name} must be one of x, y, t, got {name!r}")
    if axis == "t" and tensor.ndim < 5:
        raise ValueError(f"{node}: {input_name} 't' needs a video latent [batch, channels, frames, height, width]; "
                         f"this latent has shape {tuple(tensor.shape)}")
    return tensor.ndim - AXIS_FROM_END[axis]


class LatentConcat(Node):
    node_id = "LatentConcat"
    category = "latent/advanced"
    description = ("Joins samples2 after samples1 along x, y or t (with '-': before it); samples2 is repeated or "
                   "cut to samples1's batch size, and the other sides must match.")
    inputs = [Socket("LATENT", "samples1"), Socket("LATENT", "samples2"), Combo("dim", CONCAT_DIRECTIONS)]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples1: dict, samples2: dict, dim: str) -> tuple:
        first = require_samples(samples1, cls.node_id, "samples1")
        second = require_samples(samples2, cls.node_id, "samples2")
        axis = axis_of(dim, first, cls.node_id)
        second = repeat_to_batch(second, first.shape[0]).to(first.device, first.dtype)
        kept = [d for d in range(first.ndim) if d not in (0, axis)]
        if second.ndim != first.ndim or any(first.shape[d] != second.shape[d] for d in kept):
            raise ValueError(f"{cls.node_id}: samples2 of shape {tuple(second.shape)} cannot be joined to samples1 "
                             f"of shape {tuple(first.shape)} along {dim.lstrip('-')}: the other sides must match")
        parts = (second, first) if dim.startswith("-") else (first, second)
        return (with_samples(samples1, torch.cat(parts, dim=axis)),)


def cut_range(size: int, index: int, amount: int) -> tuple[int, int]:
    """ComfyUI's LatentCut bounds: (start, length) of `amount` entries from `index` (negative: from the
    end), clamped to the `size` entries there are; never empty."""
    if index >= 0:
        index = min(index, size - 1)
        return index, min(size - index, amount)
    index = max(index, -size)
    return size + index, min(-index, amount)


class LatentCut(Node):
    node_id = "LatentCut"
    category = "latent/advanced"
    description = ("Keeps `amount` latent pixels (or frames) along x, y or t from `index` (negative: counted from "
                   "the end), clamped to the latent.")
    inputs = [
        Socket("LATENT", "samples"),
        Combo("dim", CUT_AXES),
        Int("index", default=0, min=-MAX_RESOLUTION, max=MAX_RESOLUTION, step=1),
        Int("amount", default=1, min=1, max=MAX_RESOLUTION, step=1),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, dim: str, index: int, amount: int) -> tuple:
        tensor = require_samples(samples, cls.node_id)
        axis = axis_of(dim, tensor, cls.node_id)
        if amount < 1:
            raise ValueError(f"{cls.node_id}: amount must be at least 1, got {amount}")
        start, length = cut_range(tensor.shape[axis], index, amount)
        return (with_samples(samples, tensor.narrow(axis, start, length)),)


class LatentCutToBatch(Node):
    node_id = "LatentCutToBatch"
    category = "latent/advanced"
    description = ("Cuts the latent along t, x or y into slices of slice_size and stacks them as batch entries "
                   "(a rest shorter than slice_size is dropped); a 4-D latent is left unchanged for t.")
    inputs = [
        Socket("LATENT", "samples"),
        Combo("dim", CUT_TO_BATCH_AXES),
        Int("slice_size", default=1, min=1, max=MAX_RESOLUTION, step=1),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, dim: str, slice_size: int) -> tuple:
        tensor = require_samples(samples, cls.node_id)
        if dim not in CUT_TO_BATCH_AXES:
            raise ValueError(f"{cls.node_id}: dim must be one of {list(CUT_TO_BATCH_AXES)}, got {dim!r}")
        if slice_size < 1:
            raise ValueError(f"{cls.node_id}: slice_size must be at least 1, got {slice_size}")
        if dim == "t" and tensor.ndim < 5:
            return (dict(samples),)
        axis = tensor.ndim - AXIS_FROM_END[dim]
        moved = tensor.movedim(axis, 1)
        size = moved.shape[1]
        slice_size = min(slice_size, size)
        moved = moved[:, :size // slice_size * slice_size]
        stacked = moved.reshape(-1, slice_size, *moved.shape[2:]).movedim(1, axis)
        return (with_samples(samples, stacked),)


NODES = [LatentConcat, LatentCut, LatentCutToBatch]
