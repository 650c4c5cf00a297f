"""LATENT arithmetic and batch bookkeeping: add, subtract, multiply, interpolate, batch, seed behaviour.

Ids, inputs, defaults and output order are ComfyUI's (comfy_extras/nodes_latent.py). Each
node returns a new dict holding the first latent's other keys (noise_mask, batch_index),
as ComfyUI does, and never changes its inputs.

When two latents are combined, the second is fitted to the first as ComfyUI does: resized
(bilinear, centre crop) to the first's height and width when they differ, and for add,
subtract and interpolate also repeated or cut to the first's batch size. Latents with
different channel counts come from different model families: that is a clear error here
(ComfyUI fails inside torch).
"""

from __future__ import annotations

import math
from typing import Any

from nodes.api.declare import Combo, Float, Node, Out, Socket
from nodes.api.inputs import Autogrow
from nodes.api.lazy import lazy_import
from nodes.library.latent.latent_ops import with_samples

torch = lazy_import("torch")
resample = lazy_import("diffusion.imaging.resample")

SEED_BEHAVIORS = ("random", "fixed")


def require_samples(value: Any, node: str, name: str = "samples") -> torch.Tensor:
    """The samples of a LATENT dict: a [B, C, H, W] (or video [B, C, T, H, W]) tensor, else a clear error."""
    if not isinstance(value, dict) or "samples" not in value:
        raise TypeError(f"{node}: input '{name}' must be a LATENT dict with 'samples', got {type(value).__name__}")
    samples = value["samples"]
    if not isinstance(samples, torch.Tensor) or samples.ndim not in (4, 5) or min(samples.shape) == 0:
        shape = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(f"{node}: input '{name}' must hold samples of shape [batch, channels, height, width], "
                         f"got {shape}")
    return samples


def repeat_to_batch(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    """`tensor` cut to its first `batch` entries, or repeated cyclically up to `batch` (ComfyUI's rule)."""
    if tensor.shape[0] > batch:
        return tensor[:batch]
    if tensor.shape[0] < batch:
        copies = math.ceil(batch / tensor.shape[0])
        return tensor.repeat(copies, *([1] * (tensor.ndim - 1)))[:batch]
    return tensor


def fit_to(target: torch.Tensor, other: torch.Tensor, node: str, names: tuple[str, str], *,
           repeat_batch: bool = True) -> torch.Tensor:
    """`other` made to match `target`: same channels required, resized (bilinear, centre crop) to its
    spatial size, and, with `repeat_batch`, repeated or cut to its batch size."""
    if other.shape[1] != target.shape[1]:
        raise ValueError(f"{node}: {names[0]} has {target.shape[1]} channels but {names[1]} has "
                         f"{other.shape[1]}; the latents come from different model families")
    if other.shape[1:] != target.shape[1:]:
        if other.ndim != 4 or target.ndim != 4:
            raise ValueError(f"{node}: {names[1]} of shape {tuple(other.shape)} cannot be resized to "
                             f"{names[0]} of shape {tuple(target.shape)}")
        other = resample.resize(other, target.shape[3], target.shape[2], "bilinear", "center")
    other = other.to(target.device)
    return repeat_to_batch(other, target.shape[0]) if repeat_batch else other


class LatentAdd(Node):
    node_id = "LatentAdd"
    category = "latent/advanced"
    description = "samples1 + samples2; samples2 is resized and repeated to samples1's size and batch if needed."
    inputs = [Socket("LATENT", "samples1"), Socket("LATENT", "samples2")]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples1: dict, samples2: dict) -> tuple:
        first = require_samples(samples1, cls.node_id, "samples1")
        second = fit_to(first, require_samples(samples2, cls.node_id, "samples2"), cls.node_id,
                        ("samples1", "samples2"))
        return (with_samples(samples1, first + second),)


class LatentSubtract(Node):
    node_id = "LatentSubtract"
    category = "latent/advanced"
    description = "samples1 - samples2; samples2 is resized and repeated to samples1's size and batch if needed."
    inputs = [Socket("LATENT", "samples1"), Socket("LATENT", "samples2")]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples1: dict, samples2: dict) -> tuple:
        first = require_samples(samples1, cls.node_id, "samples1")
        second = fit_to(first, require_samples(samples2, cls.node_id, "samples2"), cls.node_id,
                        ("samples1", "samples2"))
        return (with_samples(samples1, first - second),)


class LatentMultiply(Node):
    node_id = "LatentMultiply"
    category = "latent/advanced"
    description = "samples x multiplier."
    inputs = [Socket("LATENT", "samples"), Float("multiplier", default=1.0, min=-10.0, max=10.0, step=0.01)]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, multiplier: float) -> tuple:
        tensor = require_samples(samples, cls.node_id)
        return (with_samples(samples, tensor * multiplier),)


def interpolate_keeping_norms(first: torch.Tensor, second: torch.Tensor, ratio: float) -> torch.Tensor:
    """ComfyUI's LatentInterpolate: the per-pixel channel directions are blended and renormalised,
    the lengths blended linearly; ratio 1 gives `first`, 0 gives `second`. Zero vectors count as 0."""
    norm1 = torch.linalg.vector_norm(first, dim=1, keepdim=True)
    norm2 = torch.linalg.vector_norm(second, dim=1, keepdim=True)
    direction = torch.nan_to_num(first / norm1) * ratio + torch.nan_to_num(second / norm2) * (1.0 - ratio)
    direction = torch.nan_to_num(direction / torch.linalg.vector_norm(direction, dim=1, keepdim=True))
    return direction * (norm1 * ratio + norm2 * (1.0 - ratio))


class LatentInterpolate(Node):
    node_id = "LatentInterpolate"
    category = "latent/advanced"
    description = ("Blends each pixel's channel vector: directions by ratio and renormalised, lengths linearly; "
                   "ratio 1 gives samples1, 0 gives samples2 (ComfyUI's formula).")
    inputs = [
        Socket("LATENT", "samples1"),
        Socket("LATENT", "samples2"),
        Float("ratio", default=1.0, min=0.0, max=1.0, step=0.01),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples1: dict, samples2: dict, ratio: float) -> tuple:
        first = require_samples(samples1, cls.node_id, "samples1")
        second = fit_to(first, require_samples(samples2, cls.node_id, "samples2"), cls.node_id,
                        ("samples1", "samples2"))
        return (with_samples(samples1, interpolate_keeping_norms(first, second, ratio)),)


def batch_indices(latent: dict, batch: int) -> list[int]:
    """A latent's batch_index, or 0..batch-1 when it has none."""
    return list(latent["batch_index"]) if "batch_index" in latent else list(range(batch))


class LatentBatch(Node):
    node_id = "LatentBatch"
    category = "latent/batch"
    deprecated = True
    description = ("samples2 appended to the batch of samples1 (resized to its size if needed); batch_index "
                   "joins both. As in ComfyUI the noise_mask of samples1 is carried unchanged.")
    inputs = [Socket("LATENT", "samples1"), Socket("LATENT", "samples2")]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples1: dict, samples2: dict) -> tuple:
        first = require_samples(samples1, cls.node_id, "samples1")
        second = fit_to(first, require_samples(samples2, cls.node_id, "samples2"), cls.node_id,
                        ("samples1", "samples2"), repeat_batch=False)
        indices = batch_indices(samples1, first.shape[0]) + batch_indices(samples2, second.shape[0])
        return (with_samples(samples1, torch.cat((first, second.to(first.dtype)), dim=0), batch_index=indices),)


class LatentBatchSeedBehavior(Node):
    node_id = "LatentBatchSeedBehavior"
    category = "latent/advanced"
    description = ("fixed: every batch entry gets the noise of the first one's batch_index; random: batch_index is "
                   "removed, so each entry gets its own noise.")
    inputs = [Socket("LATENT", "samples"), Combo("seed_behavior", SEED_BEHAVIORS, default="fixed")]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, seed_behavior: str) -> tuple:
        tensor = require_samples(samples, cls.node_id)
        out = dict(samples)
        if seed_behavior == "random":
            out.pop("batch_index", None)
        elif seed_behavior == "fixed":
            first = list(samples.get("batch_index") or [0])[0]
            out["batch_index"] = [first] * tensor.shape[0]
        else:
            raise ValueError(f"{cls.node_id}: seed_behavior must be one of {list(SEED_BEHAVIORS)}, "
                             f"got {seed_behavior!r}")
        return (out,)


class BatchLatentsNode(Node):
    node_id = "BatchLatentsNode"
    display_name = "Batch Latents"
    category = "latent"
    description = ("Joins 2 to 50 latents into one batch, each resized to the first one's size as LatentBatch does; "
                   "batch_index joins all of them and the first latent's noise_mask is carried.")
    inputs = [Autogrow("latents", Socket("LATENT", "latent"), prefix="latent", min=2, max=50)]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, latents: dict) -> tuple:
        named = list(latents.items())
        if not named:
            raise ValueError(f"{cls.node_id}: input 'latents' holds no LATENT (latent0, latent1, ...)")
        first_name, first_latent = named[0]
        first = require_samples(first_latent, cls.node_id, f"latents.{first_name}")
        parts, indices = [first], batch_indices(first_latent, first.shape[0])
        for name, latent in named[1:]:
            samples = fit_to(first, require_samples(latent, cls.node_id, f"latents.{name}"), cls.node_id,
                             (f"latents.{first_name}", f"latents.{name}"), repeat_batch=False)
            parts.append(samples.to(first.dtype))
            indices += batch_indices(latent, samples.shape[0])
        return (with_samples(first_latent, torch.cat(parts, dim=0), batch_index=indices),)


NODES = [LatentAdd, LatentSubtract, LatentMultiply, LatentInterpolate, LatentBatch, LatentBatchSeedBehavior,
         BatchLatentsNode]
