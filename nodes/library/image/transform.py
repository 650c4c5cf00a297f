"""Model-free IMAGE nodes that transform pixels: scaling, inverting, padding, cropping, batching.

Ids, inputs, defaults, ranges and output order are ComfyUI's (nodes.py and
comfy_extras/nodes_images.py, nodes_post_processing.py), so workflows run unchanged.
Every node returns new tensors; its inputs (which may be cached and shared) are never changed.
"""

from __future__ import annotations

import math
from typing import Any

from diffusion.imaging.names import CROP_METHODS, IMAGE_METHODS
from nodes.api import limits
from nodes.api.declare import Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import

torch = lazy_import("torch")
resample = lazy_import("diffusion.imaging.resample")

MAX_RESOLUTION = 16384


def require_image(value: Any, node: str, name: str = "image") -> torch.Tensor:
    """`value` if it is an IMAGE tensor [B, H, W, C] with at least one pixel, else a clear error."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{node}: input '{name}' must be an IMAGE tensor [batch, height, width, channels], "
                        f"got {type(value).__name__}")
    if value.ndim != 4 or min(value.shape) == 0:
        raise ValueError(f"{node}: input '{name}' must be an IMAGE tensor [batch, height, width, channels] "
                         f"with no empty dimension, got shape {tuple(value.shape)}")
    return value


def resize_image(image: torch.Tensor, width: int, height: int, method: str, crop: str = "disabled") -> torch.Tensor:
    """An IMAGE [B, H, W, C] resized to height x width (through channel-first `resample.resize`)."""
    return resample.resize(image.movedim(-1, 1), width, height, method, crop).movedim(1, -1).contiguous()


class ImageScale(Node):
    node_id = "ImageScale"
    display_name = "Upscale Image"
    category = "image/upscaling"
    description = "Resizes images to width x height; a 0 side keeps the aspect ratio, both 0 leave them unchanged."
    inputs = [
        Socket("IMAGE", "image"),
        Combo("upscale_method", IMAGE_METHODS),
        Int("width", default=512, min=0, max=MAX_RESOLUTION, step=1),
        Int("height", default=512, min=0, max=MAX_RESOLUTION, step=1),
        Combo("crop", CROP_METHODS),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def validate(cls, ctx: Any, *, width: Any = None, height: Any = None) -> list:
        """Refuses a target over the pixel limit (nodes/api/limits.py; a 0 side is only known at run time)."""
        return limits.validate_size(ctx, cls, {"width": width, "height": height},
                                    lambda width, height: {"width": width, "height": height} if width and height else None)

    @classmethod
    def run(cls, ctx: Any, *, image, upscale_method: str, width: int, height: int, crop: str) -> tuple:
        image = require_image(image, cls.node_id)
        if width == 0 and height == 0:
            return (image,)
        old_height, old_width = image.shape[1], image.shape[2]
        if width == 0:
            width = max(1, round(old_width * height / old_height))
        elif height == 0:
            height = max(1, round(old_height * width / old_width))
        limits.check_output(ctx, cls.node_id, width=width, height=height, batch=image.shape[0],
                            channels=image.shape[3], batch_input="image")
        return (resize_image(image, width, height, upscale_method, crop),)


class ImageScaleBy(Node):
    node_id = "ImageScaleBy"
    display_name = "Upscale Image By"
    category = "image/upscaling"
    inputs = [
        Socket("IMAGE", "image"),
        Combo("upscale_method", IMAGE_METHODS),
        Float("scale_by", default=1.0, min=0.01, max=8.0, step=0.01),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, upscale_method: str, scale_by: float) -> tuple:
        image = require_image(image, cls.node_id)
        width = max(1, round(image.shape[2] * scale_by))
        height = max(1, round(image.shape[1] * scale_by))
        limits.check_output(ctx, cls.node_id, width=width, height=height, batch=image.shape[0],
                            channels=image.shape[3], pixel_input="scale_by", batch_input="image")
        return (resize_image(image, width, height, upscale_method),)


class ImageScaleToTotalPixels(Node):
    node_id = "ImageScaleToTotalPixels"
    display_name = "Scale Image to Total Pixels"
    category = "image/upscaling"
    description = "Resizes images to about `megapixels` million pixels (x 1024 x 1024), keeping the aspect ratio."
    inputs = [
        Socket("IMAGE", "image"),
        Combo("upscale_method", IMAGE_METHODS),
        Float("megapixels", default=1.0, min=0.01, max=16.0, step=0.01),
        Int("resolution_steps", default=1, min=1, max=256),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def validate(cls, ctx: Any, *, megapixels: Any = None) -> list:
        """Refuses more megapixels than the pixel limit allows (nodes/api/limits.py)."""
        def shape(megapixels: float) -> dict:
            side = math.isqrt(int(megapixels * 1024 * 1024))
            return {"width": side, "height": int(megapixels * 1024 * 1024) // max(1, side),
                    "pixel_input": "megapixels"}
        return limits.validate_size(ctx, cls, {"megapixels": megapixels}, shape)

    @classmethod
    def run(cls, ctx: Any, *, image, upscale_method: str, megapixels: float, resolution_steps: int = 1) -> tuple:
        image = require_image(image, cls.node_id)
        steps = max(1, int(resolution_steps))
        scale = math.sqrt(megapixels * 1024 * 1024 / (image.shape[1] * image.shape[2]))
        width = max(steps, round(image.shape[2] * scale / steps) * steps)
        height = max(steps, round(image.shape[1] * scale / steps) * steps)
        return (resize_image(image, width, height, upscale_method),)


class ImageInvert(Node):
    node_id = "ImageInvert"
    display_name = "Invert Image"
    category = "image"
    inputs = [Socket("IMAGE", "image")]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image) -> tuple:
        return (1.0 - require_image(image, cls.node_id),)


class ImageBatch(Node):
    node_id = "ImageBatch"
    display_name = "Batch Images"
    category = "image"
    description = "Appends image2 to image1's batch; image2 is resized (bilinear, centre crop) to image1's size."
    deprecated = True
    inputs = [Socket("IMAGE", "image1"), Socket("IMAGE", "image2")]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image1, image2) -> tuple:
        image1 = require_image(image1, cls.node_id, "image1")
        image2 = require_image(image2, cls.node_id, "image2")
        channels = max(image1.shape[-1], image2.shape[-1])
        image1, image2 = _pad_channels(image1, channels), _pad_channels(image2, channels)
        if image1.shape[1:3] != image2.shape[1:3]:
            image2 = resize_image(image2, image1.shape[2], image1.shape[1], "bilinear", "center")
        return (torch.cat((image1, image2.to(image1.dtype)), dim=0),)


def _pad_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """RGB to RGBA with an opaque alpha (or grey to RGB) so that two batches can be joined."""
    have = image.shape[-1]
    if have == channels:
        return image
    if have == 1:
        image = image.expand(*image.shape[:-1], 3)
        have = 3
    if have < channels:
        opaque = torch.ones(*image.shape[:-1], channels - have, dtype=image.dtype, device=image.device)
        image = torch.cat((image, opaque), dim=-1)
    return image


class EmptyImage(Node):
    node_id = "EmptyImage"
    display_name = "Empty Image"
    category = "image"
    description = "A batch of images filled with one colour given as 0xRRGGBB."
    inputs = [
        Int("width", default=512, min=1, max=MAX_RESOLUTION, step=1),
        Int("height", default=512, min=1, max=MAX_RESOLUTION, step=1),
        Int("batch_size", default=1, min=1, max=4096),
        Int("color", default=0, min=0, max=0xFFFFFF, step=1, display="color"),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def validate(cls, ctx: Any, *, width: Any = None, height: Any = None, batch_size: Any = None) -> list:
        """Refuses, before anything runs, a batch over the size limits (nodes/api/limits.py)."""
        return limits.validate_size(ctx, cls, {"width": width, "height": height, "batch_size": batch_size},
                                    lambda width, height, batch_size: {"width": width, "height": height,
                                                                       "batch": batch_size})

    @classmethod
    def run(cls, ctx: Any, *, width: int, height: int, batch_size: int = 1, color: int = 0) -> tuple:
        limits.check_output(ctx, cls.node_id, width=width, height=height, batch=batch_size)
        rgb = torch.tensor([(color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF], dtype=torch.float32) / 0xFF
        return (rgb.expand(batch_size, height, width, 3).clone(),)


def outpaint_feather(height: int, width: int, feathering: int, *, top: bool, bottom: bool, left: bool,
                     right: bool) -> torch.Tensor:
    """The mask [H, W] over the original picture in ImagePadForOutpaint.

    A pixel at distance d (< feathering) from a padded edge gets ((feathering - d) / feathering)²;
    edges that are not padded count as infinitely far. The feather is used only when
    2 * feathering is smaller than both sides, as in ComfyUI; otherwise the mask is zeros.
    """
    if feathering <= 0 or feathering * 2 >= height or feathering * 2 >= width:
        return torch.zeros(height, width)
    rows = torch.arange(height, dtype=torch.float32).unsqueeze(1)
    cols = torch.arange(width, dtype=torch.float32).unsqueeze(0)
    far_rows, far_cols = torch.full_like(rows, height), torch.full_like(cols, width)
    distance = torch.minimum(
        torch.minimum(rows if top else far_rows, height - rows if bottom else far_rows),
        torch.minimum(cols if left else far_cols, width - cols if right else far_cols),
    )
    weight = ((feathering - distance) / feathering).clamp(min=0)
    return weight * weight


class ImagePadForOutpaint(Node):
    node_id = "ImagePadForOutpaint"
    display_name = "Pad Image for Outpainting"
    category = "image"
    description = ("Adds grey (0.5) borders; the MASK is 1 on the borders and fades (squared) into the picture "
                   "over `feathering` pixels.")
    inputs = [
        Socket("IMAGE", "image"),
        Int("left", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Int("top", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Int("right", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Int("bottom", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Int("feathering", default=40, min=0, max=MAX_RESOLUTION, step=1),
    ]
    outputs = [Out("IMAGE"), Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, image, left: int, top: int, right: int, bottom: int, feathering: int) -> tuple:
        image = require_image(image, cls.node_id)
        batch, height, width, channels = image.shape
        limits.check_output(ctx, cls.node_id, width=width + left + right, height=height + top + bottom, batch=batch,
                            channels=channels, pixel_input="left", batch_input="image")
        padded = torch.full((batch, height + top + bottom, width + left + right, channels), 0.5,
                            dtype=image.dtype, device=image.device)
        padded[:, top:top + height, left:left + width, :] = image
        mask = torch.ones(height + top + bottom, width + left + right, dtype=torch.float32)
        mask[top:top + height, left:left + width] = outpaint_feather(
            height, width, feathering, top=top != 0, bottom=bottom != 0, left=left != 0, right=right != 0)
        return (padded, mask.unsqueeze(0))


class ImageCrop(Node):
    node_id = "ImageCrop"
    display_name = "Image Crop"
    category = "image/transform"
    description = "The width x height region at (x, y); x and y are clamped so at least one pixel remains."
    inputs = [
        Socket("IMAGE", "image"),
        Int("width", default=512, min=1, max=MAX_RESOLUTION, step=1),
        Int("height", default=512, min=1, max=MAX_RESOLUTION, step=1),
        Int("x", default=0, min=0, max=MAX_RESOLUTION, step=1),
        Int("y", default=0, min=0, max=MAX_RESOLUTION, step=1),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, width: int, height: int, x: int, y: int) -> tuple:
        image = require_image(image, cls.node_id)
        x = min(max(0, x), image.shape[2] - 1)
        y = min(max(0, y), image.shape[1] - 1)
        return (image[:, y:y + height, x:x + width, :].clone(),)


TRANSFORM_NODES = [ImageScale, ImageScaleBy, ImageScaleToTotalPixels, ImageInvert, ImagePadForOutpaint,
                   ImageCrop, ImageBatch, EmptyImage]
