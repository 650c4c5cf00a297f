"""IMAGE batch nodes: GetImageSize, ImageAddNoise, ImageFromBatch, RepeatImageBatch, RebatchImages, BatchImagesNode.

Ids, inputs, defaults, ranges and output order are ComfyUI's (comfy_extras/nodes_images.py,
nodes_rebatch.py, nodes_post_processing.py). Every node returns new tensors and leaves its inputs unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.api import limits
from nodes.api.declare import Float, Int, Node, Out, Socket
from nodes.api.inputs import Autogrow
from nodes.api.lazy import lazy_import
from nodes.library.image.geometry import with_channels
from nodes.library.image.postprocess import require_range
from nodes.library.image.transform import require_image, resize_image

torch = lazy_import("torch")

MAX_BATCH = 4096
MAX_SEED = 0xFFFFFFFFFFFFFFFF
# BatchImagesNode's growing input: ComfyUI's Autogrow of IMAGE sockets image0, image1, ... (2 to 50).


class GetImageSize(Node):
    node_id = "GetImageSize"
    display_name = "Get Image Size"
    category = "image"
    description = "Returns width and height of the image, and passes it through unchanged."
    hidden = ("UNIQUE_ID",)
    inputs = [Socket("IMAGE", "image")]
    outputs = [Out("INT", "width"), Out("INT", "height"), Out("INT", "batch_size")]

    @classmethod
    def run(cls, ctx: Any, *, image, unique_id: Any = None) -> tuple:
        image = require_image(image, cls.node_id)
        batch, height, width = (int(size) for size in image.shape[:3])
        if unique_id:
            ctx.progress_text(f"width: {width}, height: {height}\n batch size: {batch}")
        return (width, height, batch)


class ImageAddNoise(Node):
    node_id = "ImageAddNoise"
    category = "image"
    description = "Adds strength x standard normal noise (CPU generator seeded with `seed`), clamped to 0..1."
    inputs = [
        Socket("IMAGE", "image"),
        Int("seed", default=0, min=0, max=MAX_SEED, control_after_generate=True,
            tooltip="The random seed used for creating the noise."),
        Float("strength", default=0.5, min=0.0, max=1.0, step=0.01),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, seed: int, strength: float) -> tuple:
        image = require_image(image, cls.node_id)
        require_range(seed, 0, MAX_SEED, cls.node_id, "seed")
        require_range(strength, 0.0, 1.0, cls.node_id, "strength")
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        noise = torch.randn(image.size(), generator=generator, device="cpu").to(image)
        return (torch.clamp(image + strength * noise, min=0.0, max=1.0),)


class ImageFromBatch(Node):
    node_id = "ImageFromBatch"
    category = "image/batch"
    description = "`length` images from `batch_index` on; both are cut back to what the batch holds."
    inputs = [
        Socket("IMAGE", "image"),
        Int("batch_index", default=0, min=0, max=MAX_BATCH - 1),
        Int("length", default=1, min=1, max=MAX_BATCH),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, batch_index: int, length: int) -> tuple:
        image = require_image(image, cls.node_id)
        require_range(batch_index, 0, MAX_BATCH - 1, cls.node_id, "batch_index")
        require_range(length, 1, MAX_BATCH, cls.node_id, "length")
        start = min(image.shape[0] - 1, int(batch_index))
        count = min(image.shape[0] - start, int(length))
        return (image[start:start + count].clone(),)


class RepeatImageBatch(Node):
    node_id = "RepeatImageBatch"
    category = "image/batch"
    description = "The whole batch repeated `amount` times (1 2 -> 1 2 1 2)."
    inputs = [Socket("IMAGE", "image"), Int("amount", default=1, min=1, max=MAX_BATCH)]
    outputs = [Out("IMAGE")]

    @classmethod
    def validate(cls, ctx: Any, *, amount: Any = None) -> list:
        """Refuses an amount over the batch limit (--max-batch) before anything runs."""
        return limits.range_problems(cls, {"amount": amount}) or limits.batch_problem(ctx, cls.node_id, amount, "amount")

    @classmethod
    def run(cls, ctx: Any, *, image, amount: int) -> tuple:
        image = require_image(image, cls.node_id)
        require_range(amount, 1, MAX_BATCH, cls.node_id, "amount")
        limits.check_output(ctx, cls.node_id, width=image.shape[2], height=image.shape[1], channels=image.shape[3],
                            batch=image.shape[0] * int(amount), pixel_input="image", batch_input="amount")
        return (image.repeat((int(amount), 1, 1, 1)),)


class RebatchImages(Node):
    node_id = "RebatchImages"
    display_name = "Rebatch Images"
    category = "image/batch"
    description = ("Regroups a list of image batches into batches of batch_size (the last may be smaller); "
                   "whatever follows runs once per batch. All images must have one size.")
    input_is_list = True
    inputs = [Socket("IMAGE", "images"), Int("batch_size", default=1, min=1, max=MAX_BATCH)]
    outputs = [Out("IMAGE", is_list=True)]

    @classmethod
    def run(cls, ctx: Any, *, images: list, batch_size: list) -> tuple:
        size = batch_size[0] if isinstance(batch_size, (list, tuple)) and batch_size else batch_size
        require_range(size, 1, MAX_BATCH, cls.node_id, "batch_size")
        batches = images if isinstance(images, (list, tuple)) else [images]
        singles = [one for batch in batches for one in require_image(batch, cls.node_id, "images").split(1)]
        if any(one.shape[1:] != singles[0].shape[1:] for one in singles):
            shapes = sorted({tuple(one.shape[1:]) for one in singles})
            raise ValueError(f"{cls.node_id}: input 'images' holds images of different sizes {shapes}; "
                             "they cannot share a batch")
        size = int(size)
        return ([torch.cat(singles[start:start + size]) for start in range(0, len(singles), size)],)


def batch_images(images: list, node: str) -> torch.Tensor:
    """One batch of all `images`: missing channels filled with ones, sizes resized (bilinear, centre crop)
    to the first image's."""
    checked = [require_image(image, node, f"image{index}") for index, image in enumerate(images)]
    channels = max(image.shape[-1] for image in checked)
    checked = [with_channels(image, channels) for image in checked]
    height, width = checked[0].shape[1:3]
    first = checked[0]
    same_size = [image if image.shape[1:3] == (height, width)
                 else resize_image(image, width, height, "bilinear", "center") for image in checked]
    return torch.cat([image.to(first.device, first.dtype) for image in same_size], dim=0)


class BatchImagesNode(Node):
    node_id = "BatchImagesNode"
    display_name = "Batch Images"
    category = "image"
    description = ("Joins 2 to 50 images into one batch, resized (bilinear, centre crop) to the first one's size; "
                   "missing alpha channels are opaque.")
    inputs = [Autogrow("images", Socket("IMAGE", "image"), prefix="image", min=2, max=50)]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, images) -> tuple:
        if isinstance(images, Mapping):  # {"image0": ..., "image1": ...} in the template's order
            images = list(images.values())
        if not isinstance(images, (list, tuple)) or not images:
            raise ValueError(f"{cls.node_id}: input 'images' must hold at least one IMAGE (image0, image1, ...), "
                             f"got {type(images).__name__}")
        return (batch_images(list(images), cls.node_id),)


NODES = [GetImageSize, ImageAddNoise, ImageFromBatch, RepeatImageBatch, RebatchImages, BatchImagesNode]
