"""Alpha nodes: joining a mask to an image as alpha, splitting it off, and Porter-Duff compositing.

Ids, inputs, defaults and output order are ComfyUI's (comfy_extras/nodes_compositing.py).
ComfyUI's convention holds throughout: a MASK is 1 - alpha (1 marks what is transparent).
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Combo, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.image.transform import require_image
from nodes.library.mask.checks import require_mask, resize_planes

torch = lazy_import("torch")
resample = lazy_import("diffusion.imaging.resample")

# ComfyUI's order (its PorterDuffMode enum); DST is the default.
PORTER_DUFF_MODES = ("ADD", "CLEAR", "DARKEN", "DST", "DST_ATOP", "DST_IN", "DST_OUT", "DST_OVER", "LIGHTEN",
                     "MULTIPLY", "OVERLAY", "SCREEN", "SRC", "SRC_ATOP", "SRC_IN", "SRC_OUT", "SRC_OVER", "XOR")


class JoinImageWithAlpha(Node):
    node_id = "JoinImageWithAlpha"
    display_name = "Join Image with Alpha"
    category = "mask/compositing"
    description = ("RGBA images: the first three channels of `image` and alpha = 1 - the mask, resized (bilinear) "
                   "to the image. The batch is the shorter of the two.")
    inputs = [Socket("IMAGE", "image"), Socket("MASK", "alpha")]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, alpha) -> tuple:
        image = require_image(image, cls.node_id)
        mask = require_mask(alpha, cls.node_id, "alpha").to(image.device, image.dtype)
        if image.shape[-1] < 3:
            raise ValueError(f"{cls.node_id}: the image must have at least 3 channels, got {image.shape[-1]}")
        batch = min(image.shape[0], mask.shape[0])
        opacity = 1.0 - resize_planes(mask[:batch].unsqueeze(1), image.shape[1], image.shape[2]).squeeze(1)
        return (torch.cat((image[:batch, ..., :3], opacity.unsqueeze(-1)), dim=-1),)


class SplitImageWithAlpha(Node):
    node_id = "SplitImageWithAlpha"
    display_name = "Split Image with Alpha"
    category = "mask/compositing"
    description = "The RGB channels, and 1 - alpha as a mask (all zeros for an image without alpha)."
    inputs = [Socket("IMAGE", "image")]
    outputs = [Out("IMAGE"), Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, image) -> tuple:
        image = require_image(image, cls.node_id)
        if image.shape[-1] < 3:
            raise ValueError(f"{cls.node_id}: the image must have at least 3 channels, got {image.shape[-1]}")
        if image.shape[-1] > 3:
            mask = 1.0 - image[..., 3]
        else:
            mask = torch.zeros(image.shape[:3], dtype=image.dtype, device=image.device)
        return (image[..., :3].clone(), mask)


def porter_duff(src: torch.Tensor, src_a: torch.Tensor, dst: torch.Tensor, dst_a: torch.Tensor,
                mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(colour, alpha) of one Porter-Duff operation; colours are premultiplied by their alphas on the way in
    and divided by the result's alpha on the way out (0 where that alpha is about 0)."""
    src, dst = src * src_a, dst * dst_a
    union = src_a + dst_a - src_a * dst_a
    if mode == "ADD":
        alpha, color = (src_a + dst_a).clamp(0, 1), (src + dst).clamp(0, 1)
    elif mode == "CLEAR":
        alpha, color = torch.zeros_like(dst_a), torch.zeros_like(dst)
    elif mode in ("DARKEN", "LIGHTEN"):
        extreme = torch.minimum(src, dst) if mode == "DARKEN" else torch.maximum(src, dst)
        alpha, color = union, (1 - dst_a) * src + (1 - src_a) * dst + extreme
    elif mode == "DST":
        alpha, color = dst_a, dst
    elif mode == "DST_ATOP":
        alpha, color = src_a, src_a * dst + (1 - dst_a) * src
    elif mode == "DST_IN":
        alpha, color = src_a * dst_a, dst * src_a
    elif mode == "DST_OUT":
        alpha, color = (1 - src_a) * dst_a, (1 - src_a) * dst
    elif mode == "DST_OVER":
        alpha, color = dst_a + (1 - dst_a) * src_a, dst + (1 - dst_a) * src
    elif mode == "MULTIPLY":
        alpha, color = src_a * dst_a, src * dst
    elif mode == "OVERLAY":
        alpha = union
        color = torch.where(2 * dst < dst_a, 2 * src * dst, src_a * dst_a - 2 * (dst_a - src) * (src_a - dst))
    elif mode == "SCREEN":
        alpha, color = union, src + dst - src * dst
    elif mode == "SRC":
        alpha, color = src_a, src
    elif mode == "SRC_ATOP":
        alpha, color = dst_a, dst_a * src + (1 - src_a) * dst
    elif mode == "SRC_IN":
        alpha, color = src_a * dst_a, src * dst_a
    elif mode == "SRC_OUT":
        alpha, color = (1 - dst_a) * src_a, (1 - dst_a) * src
    elif mode == "SRC_OVER":
        alpha, color = src_a + (1 - src_a) * dst_a, src + (1 - src_a) * dst
    elif mode == "XOR":
        alpha, color = (1 - dst_a) * src_a + (1 - src_a) * dst_a, (1 - dst_a) * src + (1 - src_a) * dst
    else:
        raise ValueError(f"unknown Porter-Duff mode {mode!r}; expected one of {', '.join(PORTER_DUFF_MODES)}")
    color = torch.where(alpha > 1e-5, color / alpha.clamp(min=1e-5), torch.zeros_like(color)).clamp(0, 1)
    return color, alpha


def _resize_to(planes_last: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """One [h, w, C] plane stack resized (bicubic, centre crop) to height x width, as ComfyUI does here."""
    if tuple(planes_last.shape[:2]) == (height, width):
        return planes_last
    moved = planes_last.permute(2, 0, 1).unsqueeze(0)
    return resample.resize(moved, width, height, "bicubic", "center").squeeze(0).permute(1, 2, 0)


class PorterDuffImageComposite(Node):
    node_id = "PorterDuffImageComposite"
    display_name = "Porter-Duff Image Composite"
    category = "mask/compositing"
    description = ("Composites source over destination with one of the Porter-Duff operators; each alpha is "
                   "1 - its mask. The source and both masks are resized (bicubic, centre crop) to the "
                   "destination; the batch is the shortest of the four inputs. Returns the image and 1 - alpha.")
    inputs = [
        Socket("IMAGE", "source"),
        Socket("MASK", "source_alpha"),
        Socket("IMAGE", "destination"),
        Socket("MASK", "destination_alpha"),
        Combo("mode", PORTER_DUFF_MODES, default="DST"),
    ]
    outputs = [Out("IMAGE"), Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, source, source_alpha, destination, destination_alpha, mode: str) -> tuple:
        source = require_image(source, cls.node_id, "source")
        destination = require_image(destination, cls.node_id, "destination")
        source_mask = require_mask(source_alpha, cls.node_id, "source_alpha")
        destination_mask = require_mask(destination_alpha, cls.node_id, "destination_alpha")
        if mode not in PORTER_DUFF_MODES:
            raise ValueError(f"{cls.node_id}: unknown mode {mode!r}; expected one of {', '.join(PORTER_DUFF_MODES)}")
        if source.shape[-1] != destination.shape[-1]:
            raise ValueError(f"{cls.node_id}: source has {source.shape[-1]} channels but destination has "
                             f"{destination.shape[-1]}; they must match")
        height, width = destination.shape[1], destination.shape[2]
        batch = min(source.shape[0], destination.shape[0], source_mask.shape[0], destination_mask.shape[0])
        images, masks = [], []
        for i in range(batch):
            dst = destination[i]
            dst_a = _resize_to(1.0 - destination_mask[i].to(dst).unsqueeze(-1), height, width)
            src = _resize_to(source[i].to(dst), height, width)
            src_a = _resize_to(1.0 - source_mask[i].to(dst).unsqueeze(-1), height, width)
            color, alpha = porter_duff(src, src_a, dst, dst_a, mode)
            images.append(color)
            masks.append(1.0 - alpha.squeeze(-1))
        return (torch.stack(images), torch.stack(masks))


NODES = [PorterDuffImageComposite, SplitImageWithAlpha, JoinImageWithAlpha]
