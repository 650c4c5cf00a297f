"""IMAGE nodes that move pixels: ImageFlip, ImageRotate, ImageStitch, ResizeAndPadImage, ImageScaleToMaxDimension.

Ids, inputs, defaults, ranges and output order are ComfyUI's (comfy_extras/nodes_images.py).
Every node returns new tensors and leaves its inputs unchanged.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Combo, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.image.postprocess import require_choice, require_range
from nodes.library.image.transform import MAX_RESOLUTION, require_image, resize_image

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")

FLIP_METHODS = ("x-axis: vertically", "y-axis: horizontally")
ROTATIONS = ("none", "90 degrees", "180 degrees", "270 degrees")
STITCH_DIRECTIONS = ("right", "down", "left", "up")
# Spacing colours of ImageStitch: one grey level, or an RGB triple (alpha, if any, is opaque).
SPACING_COLORS = {"white": 1.0, "black": 0.0, "red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0),
                  "blue": (0.0, 0.0, 1.0)}
PAD_METHODS = ("area", "bicubic", "nearest-exact", "bilinear", "lanczos")
# ComfyUI lists "bilinear" twice; kept so that saved workflows and the editor see the same list.
MAX_DIMENSION_METHODS = ("area", "lanczos", "bilinear", "nearest-exact", "bilinear", "bicubic")


class ImageFlip(Node):
    node_id = "ImageFlip"
    category = "image/transform"
    description = "Mirrors the images: 'x-axis' turns them upside down, 'y-axis' swaps left and right."
    inputs = [Socket("IMAGE", "image"), Combo("flip_method", FLIP_METHODS)]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, flip_method: str) -> tuple:
        image = require_image(image, cls.node_id)
        require_choice(flip_method, FLIP_METHODS, cls.node_id, "flip_method")
        return (torch.flip(image, dims=[1 if flip_method.startswith("x") else 2]),)


class ImageRotate(Node):
    node_id = "ImageRotate"
    category = "image/transform"
    description = "Turns the images clockwise by a multiple of 90 degrees."
    inputs = [Socket("IMAGE", "image"), Combo("rotation", ROTATIONS)]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, rotation: str) -> tuple:
        image = require_image(image, cls.node_id)
        quarter_turns = ROTATIONS.index(require_choice(rotation, ROTATIONS, cls.node_id, "rotation"))
        if quarter_turns == 0:
            return (image,)
        return (torch.rot90(image, k=quarter_turns, dims=[2, 1]).contiguous(),)


def _repeat_last(image: torch.Tensor, batch: int) -> torch.Tensor:
    """The batch grown to `batch` entries by repeating its last image."""
    missing = batch - image.shape[0]
    return image if missing <= 0 else torch.cat([image, image[-1:].expand(missing, *image.shape[1:])])


def _pad_centred(image: torch.Tensor, dim: int, size: int, value: float) -> torch.Tensor:
    """`image` padded with `value` along dim 1 (height) or 2 (width) to `size`, the extra split evenly
    (the odd pixel after)."""
    extra = size - image.shape[dim]
    if extra <= 0:
        return image
    before, after = extra // 2, extra - extra // 2
    pad = (0, 0, 0, 0, before, after) if dim == 1 else (0, 0, before, after)
    return F.pad(image, pad, mode="constant", value=value)


def with_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """Extra channels (alpha) filled with ones."""
    missing = channels - image.shape[-1]
    if missing <= 0:
        return image
    return torch.cat([image, torch.ones(*image.shape[:-1], missing, dtype=image.dtype, device=image.device)], dim=-1)


def _spacing(shape: tuple, colour: Any, like: torch.Tensor) -> torch.Tensor:
    """The spacer block between stitched images: the colour on the colour channels, alpha opaque."""
    block = torch.zeros(shape, dtype=like.dtype, device=like.device)
    channels = shape[-1]
    if isinstance(colour, tuple):
        for index, level in enumerate(colour[:channels]):
            block[..., index] = level
    else:
        block[..., :min(3, channels)] = colour
    if channels == 4:
        block[..., 3] = 1.0
    return block


class ImageStitch(Node):
    node_id = "ImageStitch"
    display_name = "Image Stitch"
    category = "image/transform"
    description = ("Stitches image2 to image1 in the specified direction.\n"
                   "If image2 is not provided, returns image1 unchanged.\n"
                   "Optional spacing can be added between images.")
    inputs = [
        Socket("IMAGE", "image1"),
        Combo("direction", STITCH_DIRECTIONS, default="right"),
        Boolean("match_image_size", default=True),
        Int("spacing_width", default=0, min=0, max=1024, step=2),
        Combo("spacing_color", tuple(SPACING_COLORS), default="white"),
        Socket("IMAGE", "image2", optional=True),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image1, direction: str, match_image_size: bool, spacing_width: int,
            spacing_color: str, image2=None) -> tuple:
        image1 = require_image(image1, cls.node_id, "image1")
        require_choice(direction, STITCH_DIRECTIONS, cls.node_id, "direction")
        require_choice(spacing_color, tuple(SPACING_COLORS), cls.node_id, "spacing_color")
        require_range(spacing_width, 0, 1024, cls.node_id, "spacing_width")
        if image2 is None:
            return (image1,)
        image2 = require_image(image2, cls.node_id, "image2").to(image1.device, image1.dtype)
        batch = max(image1.shape[0], image2.shape[0])
        image1, image2 = _repeat_last(image1, batch), _repeat_last(image2, batch)
        sideways = direction in ("left", "right")
        colour = SPACING_COLORS[spacing_color]
        if match_image_size:
            (height1, width1), (height2, width2) = image1.shape[1:3], image2.shape[1:3]
            if sideways:
                size = (int(height1 * (width2 / height2)), height1)
            else:
                size = (width1, int(width1 / (width2 / height2)))
            if min(size) < 1:
                raise ValueError(f"{cls.node_id}: image2 ({height2} x {width2}) cannot be scaled to image1's "
                                 f"{'height' if sideways else 'width'}: a side would be 0 pixels")
            image2 = resize_image(image2, size[0], size[1], "lanczos")
        else:
            pad_value = 0.0 if isinstance(colour, tuple) else colour
            dim = 1 if sideways else 2
            size = max(image1.shape[dim], image2.shape[dim])
            image1, image2 = _pad_centred(image1, dim, size, pad_value), _pad_centred(image2, dim, size, pad_value)
        channels = max(image1.shape[-1], image2.shape[-1])
        image1, image2 = with_channels(image1, channels), with_channels(image2, channels)
        parts = [image2, image1] if direction in ("left", "up") else [image1, image2]
        if spacing_width > 0:
            width = spacing_width + spacing_width % 2
            if sideways:
                shape = (batch, max(image1.shape[1], image2.shape[1]), width, channels)
            else:
                shape = (batch, width, max(image1.shape[2], image2.shape[2]), channels)
            parts.insert(1, _spacing(shape, colour, image1))
        return (torch.cat(parts, dim=2 if sideways else 1),)


class ResizeAndPadImage(Node):
    node_id = "ResizeAndPadImage"
    category = "image/transform"
    description = ("Scales the images to fit inside target_width x target_height, keeping the aspect ratio, "
                   "and centres them on a white or black canvas of that size.")
    inputs = [
        Socket("IMAGE", "image"),
        Int("target_width", default=512, min=1, max=MAX_RESOLUTION, step=1),
        Int("target_height", default=512, min=1, max=MAX_RESOLUTION, step=1),
        Combo("padding_color", ("white", "black")),
        Combo("interpolation", PAD_METHODS),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, target_width: int, target_height: int, padding_color: str,
            interpolation: str) -> tuple:
        image = require_image(image, cls.node_id)
        require_range(target_width, 1, MAX_RESOLUTION, cls.node_id, "target_width")
        require_range(target_height, 1, MAX_RESOLUTION, cls.node_id, "target_height")
        require_choice(padding_color, ("white", "black"), cls.node_id, "padding_color")
        require_choice(interpolation, PAD_METHODS, cls.node_id, "interpolation")
        batch, height, width, channels = image.shape
        scale = min(target_width / width, target_height / height)
        new_width, new_height = max(1, int(width * scale)), max(1, int(height * scale))
        resized = resize_image(image, new_width, new_height, interpolation)
        canvas = torch.full((batch, target_height, target_width, channels), 0.0 if padding_color == "black" else 1.0,
                            dtype=image.dtype, device=image.device)
        top, left = (target_height - new_height) // 2, (target_width - new_width) // 2
        canvas[:, top:top + new_height, left:left + new_width, :] = resized.to(image.dtype)
        return (canvas,)


class ImageScaleToMaxDimension(Node):
    node_id = "ImageScaleToMaxDimension"
    category = "image/upscaling"
    description = ("Resizes the images so that their longer side is largest_size pixels, keeping the aspect ratio "
                   "(0 is refused with a message; ComfyUI fails on it).")
    inputs = [
        Socket("IMAGE", "image"),
        Combo("upscale_method", MAX_DIMENSION_METHODS),
        Int("largest_size", default=512, min=0, max=MAX_RESOLUTION, step=1),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, upscale_method: str, largest_size: int) -> tuple:
        image = require_image(image, cls.node_id)
        require_choice(upscale_method, MAX_DIMENSION_METHODS, cls.node_id, "upscale_method")
        require_range(largest_size, 1, MAX_RESOLUTION, cls.node_id, "largest_size")
        height, width = image.shape[1], image.shape[2]
        if height > width:
            width, height = max(1, round(width / height * largest_size)), largest_size
        elif width > height:
            width, height = largest_size, max(1, round(height / width * largest_size))
        else:
            width = height = largest_size
        return (resize_image(image, width, height, upscale_method),)


NODES = [ImageFlip, ImageRotate, ImageStitch, ResizeAndPadImage, ImageScaleToMaxDimension]
