"""Pasting one LATENT or IMAGE batch into another through a mask: LatentCompositeMasked, ImageCompositeMasked.

Ids, inputs, defaults and output order are ComfyUI's (comfy_extras/nodes_mask.py). The
source's top-left corner goes to (x, y) of the destination (in pixels; a latent pixel is 8
image pixels); where the mask is 1 the source replaces the destination, where it is 0 the
destination stays, values between blend. The mask is resized (bilinear) to the source, the
source is cut where it passes the destination's edge, and its batch is repeated (or cut) to
the destination's. The inputs are never changed.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.image.transform import require_image
from nodes.library.latent.latent_ops import require_latent, with_samples
from nodes.library.mask.checks import repeat_to_batch, require_mask, resize_planes

torch = lazy_import("torch")

MAX_RESOLUTION = 16384


def paste_masked(destination: torch.Tensor, source: torch.Tensor, x: int, y: int, mask: torch.Tensor | None,
                 pixels_per_cell: int, resize_source: bool) -> torch.Tensor:
    """`source` [b, C, h, w] pasted into a copy of `destination` [B, C, H, W] at (x, y) // pixels_per_cell.

    `mask` [m, h', w'] (or None: all ones) weights the source; see the module docstring.
    """
    out = destination.clone()
    source = source.to(out.device, out.dtype)
    if resize_source:
        source = resize_planes(source, out.shape[2], out.shape[3])
    source = repeat_to_batch(source, out.shape[0])
    left, top = max(0, x) // pixels_per_cell, max(0, y) // pixels_per_cell
    width, height = min(source.shape[3], out.shape[3] - left), min(source.shape[2], out.shape[2] - top)
    if width <= 0 or height <= 0:
        return out
    if mask is None:
        weight = torch.ones_like(source[:, :1])
    else:
        weight = resize_planes(mask.to(out.device, out.dtype).unsqueeze(1), source.shape[2], source.shape[3])
        weight = repeat_to_batch(weight, source.shape[0])
    weight = weight[:, :, :height, :width]
    region = out[:, :, top:top + height, left:left + width]
    region[...] = weight * source[:, :, :height, :width] + (1.0 - weight) * region
    return out


class LatentCompositeMasked(Node):
    node_id = "LatentCompositeMasked"
    category = "latent"
    description = ("Pastes source into destination at (x, y) pixels (multiples of 8) through the mask (all ones "
                   "without one); resize_source first scales source to destination's size.")
    inputs = [
        Socket("LATENT", "destination"),
        Socket("LATENT", "source"),
        Int("x", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Int("y", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Boolean("resize_source", default=False),
        Socket("MASK", "mask", optional=True),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, destination: dict, source: dict, x: int, y: int, resize_source: bool,
            mask=None) -> tuple:
        target = require_latent(destination, cls.node_id, "destination")["samples"]
        pasted = require_latent(source, cls.node_id, "source")["samples"]
        if pasted.shape[1] != target.shape[1]:
            raise ValueError(f"{cls.node_id}: destination has {target.shape[1]} channels but source has "
                             f"{pasted.shape[1]}; the latents come from different model families")
        if mask is not None:
            mask = require_mask(mask, cls.node_id)
        samples = paste_masked(target, pasted, x, y, mask, 8, resize_source)
        return (with_samples(destination, samples),)


def match_channels(destination: torch.Tensor, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IMAGE batches with the destination's channel count: a wider source is cut, a narrower one gets an opaque
    alpha (a grey source is spread to RGB first)."""
    want, have = destination.shape[-1], source.shape[-1]
    if have > want:
        return destination, source[..., :want]
    if have == 1 and want >= 3:
        source = source.expand(*source.shape[:-1], 3)
        have = 3
    if have < want:
        opaque = torch.ones(*source.shape[:-1], want - have, dtype=source.dtype, device=source.device)
        source = torch.cat((source, opaque), dim=-1)
    return destination, source


class ImageCompositeMasked(Node):
    node_id = "ImageCompositeMasked"
    category = "image"
    description = ("Pastes source into destination at (x, y) through the mask (all ones without one); "
                   "resize_source first scales source to destination's size. A source with fewer channels "
                   "gets an opaque alpha (ComfyUI widens the destination instead, and then fails).")
    inputs = [
        Socket("IMAGE", "destination"),
        Socket("IMAGE", "source"),
        Int("x", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Int("y", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Boolean("resize_source", default=False),
        Socket("MASK", "mask", optional=True),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, destination, source, x: int, y: int, resize_source: bool, mask=None) -> tuple:
        target = require_image(destination, cls.node_id, "destination")
        pasted = require_image(source, cls.node_id, "source")
        target, pasted = match_channels(target, pasted)
        if mask is not None:
            mask = require_mask(mask, cls.node_id)
        out = paste_masked(target.movedim(-1, 1), pasted.movedim(-1, 1), x, y, mask, 1, resize_source)
        return (out.movedim(1, -1).contiguous(),)


NODES = [LatentCompositeMasked, ImageCompositeMasked]
