"""MASK nodes that make or reshape masks: solid, invert, crop, threshold, grow, feather, composite.

Ids, inputs, defaults and output order are ComfyUI's (comfy_extras/nodes_mask.py). A MASK
is float [B, H, W] in 0..1; a [H, W] mask is read as a batch of one. Every node returns a
new tensor and never changes its input, which may be cached and shared.
"""

from __future__ import annotations

from typing import Any

from nodes.api import limits
from nodes.api.declare import Boolean, Combo, Float, Int, Node, Out, Socket
from nodes.api.inputs import Autogrow
from nodes.api.lazy import lazy_import
from nodes.library.image.batch import batch_images
from nodes.library.mask.checks import require_mask

torch = lazy_import("torch")

MAX_RESOLUTION = 16384
COMPOSITE_OPERATIONS = ("multiply", "add", "subtract", "and", "or", "xor")


class SolidMask(Node):
    node_id = "SolidMask"
    category = "mask"
    description = "A mask of width x height pixels filled with `value`."
    inputs = [
        Float("value", default=1.0, min=0.0, max=1.0, step=0.01),
        Int("width", default=512, min=1, max=MAX_RESOLUTION, step=1),
        Int("height", default=512, min=1, max=MAX_RESOLUTION, step=1),
    ]
    outputs = [Out("MASK")]

    @classmethod
    def validate(cls, ctx: Any, *, width: Any = None, height: Any = None) -> list:
        """Refuses, before anything runs, a mask over the pixel limit (nodes/api/limits.py)."""
        return limits.validate_size(ctx, cls, {"width": width, "height": height},
                                    lambda width, height: {"width": width, "height": height, "channels": 1})

    @classmethod
    def run(cls, ctx: Any, *, value: float, width: int, height: int) -> tuple:
        if width < 1 or height < 1:
            raise ValueError(f"{cls.node_id}: width and height must be at least 1, got {width}x{height}")
        limits.check_output(ctx, cls.node_id, width=width, height=height, channels=1)
        return (torch.full((1, height, width), float(value), dtype=torch.float32),)


class InvertMask(Node):
    node_id = "InvertMask"
    category = "mask"
    description = "1 - mask."
    inputs = [Socket("MASK", "mask")]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, mask) -> tuple:
        return (1.0 - require_mask(mask, cls.node_id),)


class CropMask(Node):
    node_id = "CropMask"
    category = "mask"
    description = ("The width x height part of the mask whose top-left corner is (x, y); it stops at the mask's "
                   "edge. A corner outside the mask is an error (ComfyUI returns an empty mask).")
    inputs = [
        Socket("MASK", "mask"),
        Int("x", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Int("y", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Int("width", default=512, min=1, max=MAX_RESOLUTION, step=1),
        Int("height", default=512, min=1, max=MAX_RESOLUTION, step=1),
    ]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, mask, x: int, y: int, width: int, height: int) -> tuple:
        mask = require_mask(mask, cls.node_id)
        if x < 0 or y < 0 or width < 1 or height < 1:
            raise ValueError(f"{cls.node_id}: x and y must be at least 0 and width and height at least 1, "
                             f"got x={x}, y={y}, {width}x{height}")
        if x >= mask.shape[2] or y >= mask.shape[1]:
            raise ValueError(f"{cls.node_id}: the corner ({x}, {y}) lies outside the {mask.shape[2]}x{mask.shape[1]} "
                             f"mask; nothing would be left")
        return (mask[:, y:y + height, x:x + width].clone(),)


class ThresholdMask(Node):
    node_id = "ThresholdMask"
    category = "mask"
    description = "1 where the mask is above `value`, else 0."
    inputs = [Socket("MASK", "mask"), Float("value", default=0.5, min=0.0, max=1.0, step=0.01)]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, mask, value: float) -> tuple:
        return ((require_mask(mask, cls.node_id) > value).float(),)


def grow_step(masks: torch.Tensor, square: bool, shrink: bool) -> torch.Tensor:
    """One grey dilation (or erosion) of masks [B, H, W] by a 3x3 cross, or a 3x3 square.

    Each pixel becomes the largest (smallest) value among itself and its neighbours inside
    the mask; outside neighbours do not count, as with scipy.ndimage's default 'reflect'
    border in ComfyUI.
    """
    pick = torch.minimum if shrink else torch.maximum
    padded = torch.nn.functional.pad(masks.unsqueeze(1), (1, 1, 1, 1), mode="replicate").squeeze(1)
    height, width = masks.shape[1], masks.shape[2]
    out = masks
    offsets = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if square:
        offsets += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    for dy, dx in offsets:
        out = pick(out, padded[:, 1 + dy:1 + dy + height, 1 + dx:1 + dx + width])
    return out


class GrowMask(Node):
    node_id = "GrowMask"
    display_name = "Grow Mask"
    category = "mask"
    description = ("Grows the mask by `expand` pixels (shrinks it when negative): each step takes the largest "
                   "(smallest) neighbour in a 3x3 cross with tapered_corners, in a 3x3 square without.")
    inputs = [
        Socket("MASK", "mask"),
        Int("expand", default=0, min=-MAX_RESOLUTION, max=MAX_RESOLUTION, step=1),
        Boolean("tapered_corners", default=True),
    ]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, mask, expand: int, tapered_corners: bool) -> tuple:
        out = require_mask(mask, cls.node_id).clone()
        # After height + width steps every pixel has seen the whole mask: more steps change nothing.
        steps = min(abs(int(expand)), out.shape[1] + out.shape[2])
        for _ in range(steps):
            out = grow_step(out, square=not tapered_corners, shrink=expand < 0)
        return (out,)


def edge_ramp(length: int, near: int, far: int) -> torch.Tensor:
    """Weights [length]: the t-th entry from the near (far) edge, t = 0, 1, ..., is (t + 1) / near (far)
    for t below near (far), else 1; both ramps multiply where they overlap."""
    positions = torch.arange(length, dtype=torch.float32)
    weight = torch.ones(length)
    if near > 0:
        weight = weight * ((positions + 1) / near).clamp(max=1)
    if far > 0:
        weight = weight * ((length - positions) / far).clamp(max=1)
    return weight


class FeatherMask(Node):
    node_id = "FeatherMask"
    category = "mask"
    description = ("Fades the mask towards its edges: the t-th column from the left edge (t = 0, 1, ...) is "
                   "multiplied by (t + 1) / left, and likewise for top, right and bottom. ComfyUI's right and "
                   "bottom ramps are off by one pixel (the outermost column gets 2 / right and the leftmost an "
                   "extra 1 / right); here all four edges ramp the same way.")
    inputs = [
        Socket("MASK", "mask"),
        Int("left", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Int("top", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Int("right", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Int("bottom", default=0, min=0, max=MAX_RESOLUTION, step=1),
    ]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, mask, left: int, top: int, right: int, bottom: int) -> tuple:
        mask = require_mask(mask, cls.node_id)
        if min(left, top, right, bottom) < 0:
            raise ValueError(f"{cls.node_id}: left, top, right and bottom must be at least 0, "
                             f"got {left}, {top}, {right}, {bottom}")
        height, width = mask.shape[1], mask.shape[2]
        columns = edge_ramp(width, min(left, width), min(right, width))
        rows = edge_ramp(height, min(top, height), min(bottom, height))
        weight = (rows.unsqueeze(1) * columns.unsqueeze(0)).to(mask.device, mask.dtype)
        return (mask * weight,)


def combine(destination: torch.Tensor, source: torch.Tensor, operation: str) -> torch.Tensor:
    """MaskComposite's operations on two equally sized regions; and/or/xor read each value rounded to 0 or 1."""
    if operation == "multiply":
        return destination * source
    if operation == "add":
        return destination + source
    if operation == "subtract":
        return destination - source
    logical = {"and": torch.logical_and, "or": torch.logical_or, "xor": torch.logical_xor}.get(operation)
    if logical is None:
        raise ValueError(f"unknown mask operation {operation!r}; expected one of {', '.join(COMPOSITE_OPERATIONS)}")
    return logical(destination.round().bool(), source.round().bool()).to(destination.dtype)


class MaskComposite(Node):
    node_id = "MaskComposite"
    category = "mask"
    description = ("Combines source with the part of destination whose top-left corner is (x, y); the result is "
                   "clamped to 0..1. and/or/xor round both values to 0 or 1 first. A source placed outside the "
                   "destination changes nothing (ComfyUI fails).")
    inputs = [
        Socket("MASK", "destination"),
        Socket("MASK", "source"),
        Int("x", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Int("y", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Combo("operation", COMPOSITE_OPERATIONS),
    ]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, destination, source, x: int, y: int, operation: str) -> tuple:
        output = require_mask(destination, cls.node_id, "destination").clone()
        source = require_mask(source, cls.node_id, "source").to(output.device, output.dtype)
        if operation not in COMPOSITE_OPERATIONS:
            raise ValueError(f"{cls.node_id}: unknown operation {operation!r}; expected one of "
                             f"{', '.join(COMPOSITE_OPERATIONS)}")
        if source.shape[0] not in (1, output.shape[0]):
            raise ValueError(f"{cls.node_id}: source has a batch of {source.shape[0]} but destination has "
                             f"{output.shape[0]}; the batches must match or source must have 1")
        if x < 0 or y < 0:
            raise ValueError(f"{cls.node_id}: x and y must be at least 0, got ({x}, {y})")
        right = min(x + source.shape[2], output.shape[2])
        bottom = min(y + source.shape[1], output.shape[1])
        if right > x and bottom > y:
            region = output[:, y:bottom, x:right]
            region[...] = combine(region, source[:, :bottom - y, :right - x], operation)
        return (output.clamp(0.0, 1.0),)


class BatchMasksNode(Node):
    node_id = "BatchMasksNode"
    display_name = "Batch Masks"
    category = "mask"
    description = "Joins 2 to 50 masks into one batch, each resized (bilinear, centre crop) to the first one's size."
    inputs = [Autogrow("masks", Socket("MASK", "mask"), prefix="mask", min=2, max=50)]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, masks: dict) -> tuple:
        checked = [require_mask(mask, cls.node_id, f"masks.{name}") for name, mask in masks.items()]
        if not checked:
            raise ValueError(f"{cls.node_id}: input 'masks' holds no MASK (mask0, mask1, ...)")
        # As images with one channel, so they share the image batch's resize (bilinear, centre crop).
        joined = batch_images([mask.unsqueeze(-1) for mask in checked], cls.node_id)
        return (joined[..., 0],)


NODES = [SolidMask, InvertMask, CropMask, ThresholdMask, GrowMask, FeatherMask, MaskComposite, BatchMasksNode]
