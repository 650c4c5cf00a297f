"""LATENT geometry: LatentCrop, LatentFlip, LatentRotate (ComfyUI's nodes.py, same ids, inputs and defaults).

Sizes and positions are in image pixels; the latent is 8 times smaller, so they are divided
by 8 (floored). Each node returns a new dict; noise_mask and batch_index are carried
unchanged, as ComfyUI does (the mask is not cropped, flipped or rotated with the samples;
the sampler resizes it to the latent).
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Combo, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.latent.latent_ops import MAX_RESOLUTION, require_latent, with_samples

torch = lazy_import("torch")

FLIP_METHODS = ("x-axis: vertically", "y-axis: horizontally")
ROTATIONS = ("none", "90 degrees", "180 degrees", "270 degrees")
# ComfyUI keeps a crop at least 8 latent pixels (64 image pixels) from the right and bottom edges.
MIN_CROP_LATENT = 8


def crop_box(height: int, width: int, crop_width: int, crop_height: int, x: int, y: int) -> tuple[int, int, int, int]:
    """LatentCrop's (top, bottom, left, right) in latent pixels for a latent of height x width.

    x and y (pixels / 8) are moved back so that at least 8 latent pixels remain to their right
    and below (never before 0); the box is then cut off at the latent's edges.
    """
    left = max(0, min(x // 8, width - MIN_CROP_LATENT))
    top = max(0, min(y // 8, height - MIN_CROP_LATENT))
    return top, min(height, top + crop_height // 8), left, min(width, left + crop_width // 8)


class LatentCrop(Node):
    node_id = "LatentCrop"
    display_name = "Crop Latent"
    category = "latent/transform"
    description = ("Crops width x height pixels at (x, y), all divided by 8; x and y are moved back to keep at "
                   "least 64 pixels inside. The noise mask is not cropped (as in ComfyUI).")
    inputs = [
        Socket("LATENT", "samples"),
        Int("width", default=512, min=64, max=MAX_RESOLUTION, step=8),
        Int("height", default=512, min=64, max=MAX_RESOLUTION, step=8),
        Int("x", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Int("y", default=0, min=0, max=MAX_RESOLUTION, step=8),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, width: int, height: int, x: int, y: int) -> tuple:
        tensor = require_latent(samples, cls.node_id)["samples"]
        if width < 8 or height < 8 or x < 0 or y < 0:
            raise ValueError(f"{cls.node_id}: width and height must be at least 8 and x, y at least 0, "
                             f"got width {width}, height {height}, x {x}, y {y}")
        top, bottom, left, right = crop_box(tensor.shape[2], tensor.shape[3], width, height, x, y)
        return (with_samples(samples, tensor[:, :, top:bottom, left:right]),)


class LatentFlip(Node):
    node_id = "LatentFlip"
    display_name = "Flip Latent"
    category = "latent/transform"
    description = "Mirrors the latent: upside down (x-axis) or left to right (y-axis)."
    inputs = [Socket("LATENT", "samples"), Combo("flip_method", FLIP_METHODS)]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, flip_method: str) -> tuple:
        tensor = require_latent(samples, cls.node_id)["samples"]
        if flip_method.startswith("x"):
            flipped = torch.flip(tensor, dims=[2])
        elif flip_method.startswith("y"):
            flipped = torch.flip(tensor, dims=[3])
        else:
            raise ValueError(f"{cls.node_id}: flip_method must be one of {list(FLIP_METHODS)}, got {flip_method!r}")
        return (with_samples(samples, flipped),)


class LatentRotate(Node):
    node_id = "LatentRotate"
    display_name = "Rotate Latent"
    category = "latent/transform"
    description = "Rotates the latent clockwise by 90, 180 or 270 degrees."
    inputs = [Socket("LATENT", "samples"), Combo("rotation", ROTATIONS)]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, rotation: str) -> tuple:
        tensor = require_latent(samples, cls.node_id)["samples"]
        if rotation not in ROTATIONS:
            raise ValueError(f"{cls.node_id}: rotation must be one of {list(ROTATIONS)}, got {rotation!r}")
        quarter_turns = ROTATIONS.index(rotation)
        # Turning from the width axis towards the height axis is clockwise on screen.
        return (with_samples(samples, torch.rot90(tensor, k=quarter_turns, dims=[3, 2])),)


NODES = [LatentCrop, LatentFlip, LatentRotate]
