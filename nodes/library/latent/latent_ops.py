"""Model-free LATENT nodes: empty latents, resizing, compositing, blending, batches, noise masks.

A LATENT is a dict {"samples": [B, C, H/8, W/8], optional "noise_mask", optional
"batch_index": [int]}. Ids, inputs, defaults and output order are ComfyUI's (nodes.py).
Every node returns a new dict (extra keys of its input carried over) and never changes
its input, which may be cached and shared.

EmptyLatentImage floors width and height to multiples of 8, as ComfyUI does (the widgets
step by 8; a workflow typed by hand with 500 gets a 496-pixel latent).
"""

from __future__ import annotations

import math
from typing import Any

from diffusion.imaging.names import CROP_METHODS, LATENT_METHODS
from nodes.api import limits
from nodes.api.declare import Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import

torch = lazy_import("torch")
resample = lazy_import("diffusion.imaging.resample")

MAX_RESOLUTION = 16384
LATENT_CHANNELS = 4  # SD1.x/SD2.x/SDXL; the sampler widens an empty latent for other models
MIN_UPSCALE_PIXELS = 64


def require_latent(value: Any, node: str, name: str = "samples") -> dict:
    """`value` if it is a LATENT dict whose samples are [B, C, H, W], else a clear error."""
    if not isinstance(value, dict) or "samples" not in value:
        raise TypeError(f"{node}: input '{name}' must be a LATENT dict with 'samples', got {type(value).__name__}")
    samples = value["samples"]
    if not isinstance(samples, torch.Tensor) or samples.ndim != 4 or min(samples.shape) == 0:
        shape = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ValueError(f"{node}: input '{name}' must hold samples of shape [batch, channels, height, width], "
                         f"got {shape}")
    return value


def with_samples(latent: dict, samples: torch.Tensor, **changes: Any) -> dict:
    """A new LATENT dict: `latent`'s keys, its samples replaced, plus `changes`."""
    out = dict(latent)
    out["samples"] = samples
    out.update(changes)
    return out


class EmptyLatentImage(Node):
    node_id = "EmptyLatentImage"
    display_name = "Empty Latent Image"
    category = "latent"
    description = "Create a new batch of empty latent images to be denoised via sampling."
    inputs = [
        Int("width", default=512, min=16, max=MAX_RESOLUTION, step=8, tooltip="The width of the latent images in pixels."),
        Int("height", default=512, min=16, max=MAX_RESOLUTION, step=8,
            tooltip="The height of the latent images in pixels."),
        Int("batch_size", default=1, min=1, max=4096, tooltip="The number of latent images in the batch."),
    ]
    outputs = [Out("LATENT", tooltip="The empty latent image batch.")]

    @classmethod
    def validate(cls, ctx: Any, *, width: Any = None, height: Any = None, batch_size: Any = None) -> list:
        """Refuses, before anything runs, a latent too large to sample or decode (nodes/api/limits.py)."""
        return limits.validate_size(ctx, cls, {"width": width, "height": height, "batch_size": batch_size},
                                    lambda width, height, batch_size: _latent_shape(width, height, batch_size))

    @classmethod
    def run(cls, ctx: Any, *, width: int, height: int, batch_size: int = 1) -> tuple:
        if width < 8 or height < 8 or batch_size < 1:
            raise ValueError(f"{cls.node_id}: width and height must be at least 8 and batch_size at least 1, "
                             f"got {width}x{height}, batch {batch_size}")
        limits.check_output(ctx, cls.node_id, **_latent_shape(width, height, batch_size))
        samples = torch.zeros([batch_size, LATENT_CHANNELS, height // 8, width // 8])
        return ({"samples": samples},)


def _latent_shape(width: int, height: int, batch: int, name: str = "batch_size") -> dict:
    """The `limits.size_problem` arguments of a [batch, 4, height/8, width/8] latent (sizes in pixels)."""
    return {"width": width // 8, "height": height // 8, "batch": batch, "channels": LATENT_CHANNELS, "scale": 8,
            "batch_input": name}


def upscale_target(height: int, width: int, target_width: int, target_height: int) -> tuple[int, int]:
    """LatentUpscale's pixel size: a 0 side keeps the aspect ratio; each side at least 64 pixels.

    `height`/`width` are the latent's own (in latent pixels); returns (width, height) in pixels.
    """
    if target_width == 0:
        target_height = max(MIN_UPSCALE_PIXELS, target_height)
        target_width = max(MIN_UPSCALE_PIXELS, round(width * target_height / height))
    elif target_height == 0:
        target_width = max(MIN_UPSCALE_PIXELS, target_width)
        target_height = max(MIN_UPSCALE_PIXELS, round(height * target_width / width))
    else:
        target_width = max(MIN_UPSCALE_PIXELS, target_width)
        target_height = max(MIN_UPSCALE_PIXELS, target_height)
    return target_width, target_height


class LatentUpscale(Node):
    node_id = "LatentUpscale"
    display_name = "Upscale Latent"
    category = "latent"
    description = "Resizes latents to width x height pixels (/8); a 0 side keeps the aspect ratio, both 0 do nothing."
    inputs = [
        Socket("LATENT", "samples"),
        Combo("upscale_method", LATENT_METHODS),
        Int("width", default=512, min=0, max=MAX_RESOLUTION, step=8),
        Int("height", default=512, min=0, max=MAX_RESOLUTION, step=8),
        Combo("crop", CROP_METHODS),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def validate(cls, ctx: Any, *, width: Any = None, height: Any = None) -> list:
        """Refuses a target too large to sample or decode (a 0 side is only known at run time)."""
        return limits.validate_size(ctx, cls, {"width": width, "height": height},
                                    lambda width, height: _latent_shape(width, height, 1) if width and height else None)

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, upscale_method: str, width: int, height: int, crop: str) -> tuple:
        latent = require_latent(samples, cls.node_id)
        if width == 0 and height == 0:
            return (dict(latent),)
        tensor = latent["samples"]
        width, height = upscale_target(tensor.shape[2], tensor.shape[3], width, height)
        limits.check_output(ctx, cls.node_id, **_latent_shape(width, height, tensor.shape[0], "samples"))
        return (with_samples(latent, resample.resize(tensor, width // 8, height // 8, upscale_method, crop)),)


class LatentUpscaleBy(Node):
    node_id = "LatentUpscaleBy"
    display_name = "Upscale Latent By"
    category = "latent"
    inputs = [
        Socket("LATENT", "samples"),
        Combo("upscale_method", LATENT_METHODS),
        Float("scale_by", default=1.5, min=0.01, max=8.0, step=0.01),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, upscale_method: str, scale_by: float) -> tuple:
        latent = require_latent(samples, cls.node_id)
        tensor = latent["samples"]
        width = max(1, round(tensor.shape[3] * scale_by))
        height = max(1, round(tensor.shape[2] * scale_by))
        limits.check_output(ctx, cls.node_id, width=width, height=height, batch=tensor.shape[0],
                            channels=tensor.shape[1], scale=8, pixel_input="scale_by", batch_input="samples")
        return (with_samples(latent, resample.resize(tensor, width, height, upscale_method)),)


def composite_feather_mask(height: int, width: int, feather: int, *, top: bool, bottom: bool, left: bool,
                           right: bool) -> torch.Tensor:
    """LatentComposite's blend weights [H, W] for the pasted region (all in latent pixels).

    Along each edge that lies inside the destination, the t-th row/column from that edge
    (t = 0, 1, ...) is weighted (t + 1) / feather; weights of crossing edges multiply.
    """
    rows = torch.arange(height, dtype=torch.float32)
    cols = torch.arange(width, dtype=torch.float32)
    ones_rows, ones_cols = torch.ones(height), torch.ones(width)
    row_weight = ones_rows
    col_weight = ones_cols
    if top:
        row_weight = row_weight * ((rows + 1) / feather).clamp(max=1)
    if bottom:
        row_weight = row_weight * ((height - rows) / feather).clamp(max=1)
    if left:
        col_weight = col_weight * ((cols + 1) / feather).clamp(max=1)
    if right:
        col_weight = col_weight * ((width - cols) / feather).clamp(max=1)
    return row_weight.unsqueeze(1) * col_weight.unsqueeze(0)


class LatentComposite(Node):
    node_id = "LatentComposite"
    display_name = "Latent Composite"
    category = "latent"
    description = "Pastes samples_from into samples_to at (x, y) pixels, fading its inner edges over `feather` pixels."
    inputs = [
        Socket("LATENT", "samples_to"),
        Socket("LATENT", "samples_from"),
        Int("x", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Int("y", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Int("feather", default=0, min=0, max=MAX_RESOLUTION, step=8),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples_to: dict, samples_from: dict, x: int, y: int, feather: int = 0) -> tuple:
        destination = require_latent(samples_to, cls.node_id, "samples_to")["samples"]
        source = require_latent(samples_from, cls.node_id, "samples_from")["samples"]
        _check_pasteable(destination, source, cls.node_id)
        x, y, feather = x // 8, y // 8, feather // 8
        out = destination.clone()
        if x >= destination.shape[3] or y >= destination.shape[2]:
            return (with_samples(samples_to, out),)
        source = source[:, :, :destination.shape[2] - y, :destination.shape[3] - x].to(out.dtype)
        height, width = source.shape[2], source.shape[3]
        region = out[:, :, y:y + height, x:x + width]
        if feather == 0:
            region[...] = source
        else:
            weight = composite_feather_mask(
                height, width, feather, top=y != 0, bottom=y + height < destination.shape[2],
                left=x != 0, right=x + width < destination.shape[3]).to(out.device, out.dtype)
            region[...] = source * weight + region * (1 - weight)
        return (with_samples(samples_to, out),)


def _check_pasteable(destination: torch.Tensor, source: torch.Tensor, node: str,
                     names: tuple[str, str] = ("samples_to", "samples_from")) -> None:
    """Clear errors for latents that cannot be combined: other channel counts, unmatched batches."""
    if source.shape[1] != destination.shape[1]:
        raise ValueError(f"{node}: {names[0]} has {destination.shape[1]} channels but {names[1]} has "
                         f"{source.shape[1]}; the latents come from different model families")
    if source.shape[0] not in (1, destination.shape[0]):
        raise ValueError(f"{node}: {names[1]} has a batch of {source.shape[0]} but {names[0]} has "
                         f"{destination.shape[0]}; the batches must match or {names[1]} must have 1")


class LatentBlend(Node):
    node_id = "LatentBlend"
    display_name = "Latent Blend"
    category = "_for_testing"
    description = "samples1 x blend_factor + samples2 x (1 - blend_factor); samples2 is resized to samples1 if needed."
    inputs = [
        Socket("LATENT", "samples1"),
        Socket("LATENT", "samples2"),
        Float("blend_factor", default=0.5, min=0, max=1, step=0.01),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples1: dict, samples2: dict, blend_factor: float) -> tuple:
        first = require_latent(samples1, cls.node_id, "samples1")["samples"]
        second = require_latent(samples2, cls.node_id, "samples2")["samples"]
        _check_pasteable(first, second, cls.node_id, ("samples1", "samples2"))
        if first.shape[2:] != second.shape[2:]:
            second = resample.resize(second, first.shape[3], first.shape[2], "bicubic", "center")
        blended = first * blend_factor + second.to(first.dtype) * (1 - blend_factor)
        return (with_samples(samples1, blended),)


def _batch_masks(mask: torch.Tensor, batch: int) -> torch.Tensor:
    """A noise mask [M, ...] repeated (cyclically) to cover `batch` entries."""
    if mask.shape[0] < batch:
        mask = mask.repeat(math.ceil(batch / mask.shape[0]), *([1] * (mask.ndim - 1)))
    return mask[:batch]


class RepeatLatentBatch(Node):
    node_id = "RepeatLatentBatch"
    display_name = "Repeat Latent Batch"
    category = "latent/batch"
    inputs = [Socket("LATENT", "samples"), Int("amount", default=1, min=1, max=64)]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, amount: int) -> tuple:
        latent = require_latent(samples, cls.node_id)
        if amount < 1:
            raise ValueError(f"{cls.node_id}: amount must be at least 1, got {amount}")
        tensor = latent["samples"]
        limits.check_output(ctx, cls.node_id, width=tensor.shape[3], height=tensor.shape[2], channels=tensor.shape[1],
                            batch=tensor.shape[0] * amount, scale=8, pixel_input="samples", batch_input="amount")
        out = with_samples(latent, tensor.repeat(amount, 1, 1, 1))
        mask = latent.get("noise_mask")
        if isinstance(mask, torch.Tensor) and mask.ndim >= 1 and mask.shape[0] > 1:
            mask = _batch_masks(mask, tensor.shape[0])
            out["noise_mask"] = mask.repeat(amount, *([1] * (mask.ndim - 1)))
        if "batch_index" in latent:
            indices = list(latent["batch_index"])
            offset = max(indices) - min(indices) + 1
            out["batch_index"] = indices + [i + copy * offset for copy in range(1, amount) for i in indices]
        return (out,)


class LatentFromBatch(Node):
    node_id = "LatentFromBatch"
    display_name = "Latent From Batch"
    category = "latent/batch"
    inputs = [
        Socket("LATENT", "samples"),
        Int("batch_index", default=0, min=0, max=63),
        Int("length", default=1, min=1, max=64),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, batch_index: int, length: int) -> tuple:
        latent = require_latent(samples, cls.node_id)
        tensor = latent["samples"]
        start = min(tensor.shape[0] - 1, max(0, batch_index))
        length = max(1, min(tensor.shape[0] - start, length))
        out = with_samples(latent, tensor[start:start + length].clone())
        mask = latent.get("noise_mask")
        if isinstance(mask, torch.Tensor) and mask.ndim >= 1:
            if mask.shape[0] == 1:
                out["noise_mask"] = mask.clone()
            else:
                out["noise_mask"] = _batch_masks(mask, tensor.shape[0])[start:start + length].clone()
        if "batch_index" in latent:
            out["batch_index"] = list(latent["batch_index"])[start:start + length]
        else:
            out["batch_index"] = list(range(start, start + length))
        return (out,)


class SetLatentNoiseMask(Node):
    node_id = "SetLatentNoiseMask"
    display_name = "Set Latent Noise Mask"
    category = "latent/inpaint"
    description = ("Only the masked area (1) is re-noised and sampled; the mask is stored as [B, 1, H, W] and "
                   "resized to the latent at sampling time.")
    inputs = [Socket("LATENT", "samples"), Socket("MASK", "mask")]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, mask) -> tuple:
        latent = require_latent(samples, cls.node_id)
        if not isinstance(mask, torch.Tensor) or mask.ndim < 2 or min(mask.shape) == 0:
            shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(f"{cls.node_id}: mask must be a MASK tensor [batch, height, width] or [height, width], "
                             f"got {shape}")
        noise_mask = mask.reshape(-1, 1, mask.shape[-2], mask.shape[-1])
        return (with_samples(latent, latent["samples"], noise_mask=noise_mask),)


NODES = [EmptyLatentImage, LatentUpscale, LatentUpscaleBy, LatentComposite, LatentBlend, RepeatLatentBatch,
         LatentFromBatch, SetLatentNoiseMask]
