"""Nodes between MASK and IMAGE: a channel or a colour as a mask, a mask as a grey image, a mask preview.

Ids, inputs, defaults and output order are ComfyUI's (comfy_extras/nodes_mask.py). IMAGE is
float [B, H, W, C] in 0..1; MASK is float [B, H, W] in 0..1. MaskPreview writes its images
the way PreviewImage does (nodes/library/image/load_save.py).
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Combo, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.image.load_save import PREVIEW_COMPRESS_LEVEL, metadata_enabled, runtime_folders
from nodes.library.image.save_paths import preview_suffix, save_image_batch
from nodes.library.image.transform import require_image
from nodes.library.mask.checks import require_mask

torch = lazy_import("torch")

CHANNELS = ("red", "green", "blue", "alpha")
MAX_COLOR = 0xFFFFFF


def mask_to_image(mask: torch.Tensor) -> torch.Tensor:
    """A MASK [B, H, W] as a grey IMAGE [B, H, W, 3] (each channel the mask)."""
    return mask.unsqueeze(-1).expand(-1, -1, -1, 3).contiguous()


class ImageToMask(Node):
    node_id = "ImageToMask"
    display_name = "Convert Image to Mask"
    category = "mask"
    description = "One channel of the images as a mask (alpha needs an image with 4 channels)."
    inputs = [Socket("IMAGE", "image"), Combo("channel", CHANNELS)]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, image, channel: str) -> tuple:
        image = require_image(image, cls.node_id)
        if channel not in CHANNELS:
            raise ValueError(f"{cls.node_id}: unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
        index = CHANNELS.index(channel)
        if index >= image.shape[-1]:
            raise ValueError(f"{cls.node_id}: the image has {image.shape[-1]} channels, so it has no {channel} "
                             f"channel")
        return (image[..., index].clone(),)


class MaskToImage(Node):
    node_id = "MaskToImage"
    display_name = "Convert Mask to Image"
    category = "mask"
    description = "The mask as a grey RGB image."
    inputs = [Socket("MASK", "mask")]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, mask) -> tuple:
        return (mask_to_image(require_mask(mask, cls.node_id)),)


def packed_colors(image: torch.Tensor) -> torch.Tensor:
    """Each pixel's RGB as one integer 0xRRGGBB [B, H, W], every channel clamped to 0..1 and rounded to 8 bits."""
    levels = (image[..., :3].clamp(0.0, 1.0) * 255.0).round().to(torch.int64)
    return (levels[..., 0] << 16) + (levels[..., 1] << 8) + levels[..., 2]


class ImageColorToMask(Node):
    node_id = "ImageColorToMask"
    category = "mask"
    description = ("1 where a pixel's colour, rounded to 8 bits per channel, is exactly `color` (0xRRGGBB), "
                   "else 0.")
    inputs = [Socket("IMAGE", "image"), Int("color", default=0, min=0, max=MAX_COLOR, step=1, display="number")]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, image, color: int) -> tuple:
        image = require_image(image, cls.node_id)
        if image.shape[-1] < 3:
            raise ValueError(f"{cls.node_id}: the image must have red, green and blue channels, "
                             f"got {image.shape[-1]} channel(s)")
        if not 0 <= int(color) <= MAX_COLOR:
            raise ValueError(f"{cls.node_id}: color must be 0..{MAX_COLOR} (0xRRGGBB), got {color}")
        return ((packed_colors(image) == int(color)).float(),)


class MaskPreview(Node):
    node_id = "MaskPreview"
    display_name = "Preview Mask"
    category = "mask"
    description = "Shows the masks in the editor as grey images; they are written to the temp folder."
    output_node = True
    hidden = ("PROMPT", "EXTRA_PNGINFO")
    inputs = [Socket("MASK", "mask")]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, mask, prompt: Any = None, extra_pnginfo: Any = None) -> dict:
        images = mask_to_image(require_mask(mask, cls.node_id))
        folders = runtime_folders(ctx, cls.node_id)
        results = save_image_batch(
            images, folders.temp_dir, "ComfyUI" + preview_suffix(), folder_type="temp", prompt=prompt,
            extra_pnginfo=extra_pnginfo, compress_level=PREVIEW_COMPRESS_LEVEL, metadata=metadata_enabled(ctx),
            node=cls.node_id)
        return {"ui": {"images": results}}


NODES = [ImageToMask, MaskToImage, ImageColorToMask, MaskPreview]
