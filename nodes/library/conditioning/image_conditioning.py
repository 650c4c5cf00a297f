"""Conditioning nodes that encode an image with the VAE: InpaintModelConditioning, InstructPixToPixConditioning.

Both put the encoded image on every entry of the positive and negative conditioning as
`concat_latent_image` (an unscaled latent [B, 4, H/8, W/8]); InpaintModelConditioning also
puts the mask there as `concat_mask` ([B, 1, H, W] at pixel size). The sampler hands both
to inpainting UNets as their extra input channels (diffusion/sampling/inpaint_concat.py:
the mask is resized to the latent and rounded to 0/1). Models with 4 input channels do not
read them, as in ComfyUI. Ids, inputs and outputs are ComfyUI's (nodes.py,
comfy_extras/nodes_ip2p.py).
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.conditioning.edit import require_conditioning, with_values
from nodes.library.latent.vae_codec import managed_vae, require_image, require_vae

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")


def require_mask(mask: Any, node: str, batch: int) -> torch.Tensor:
    """`mask` as [B, 1, H, W] float, if it is a MASK of 1 or `batch` masks; else a clear error naming the input."""
    if not isinstance(mask, torch.Tensor) or mask.ndim not in (2, 3) or 0 in mask.shape:
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"{node}: input 'mask' must be a MASK [batch, height, width], got {got}")
    mask = mask.float().reshape(-1, 1, mask.shape[-2], mask.shape[-1])
    if mask.shape[0] not in (1, batch):
        raise ValueError(f"{node}: input 'mask' has {mask.shape[0]} masks for {batch} images; give 1 or {batch}")
    return mask


def centre_crop(height: int, width: int, factor: int, node: str) -> tuple[slice, slice]:
    """Rows and columns of the centred crop to a multiple of `factor` (the crop the VAE applies when encoding)."""
    crop_h, crop_w = height // factor * factor, width // factor * factor
    if crop_h == 0 or crop_w == 0:
        raise ValueError(f"{node}: input 'pixels': an image of {width}x{height} is smaller than {factor}x{factor}")
    top, left = (height % factor) // 2, (width % factor) // 2
    return slice(top, top + crop_h), slice(left, left + crop_w)


def grey_out(pixels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`pixels` [B, H, W, 3] with every pixel where the rounded mask [B, 1, H, W] is 1 set to 0.5."""
    keep = (1.0 - mask.round()).squeeze(1).unsqueeze(-1)
    return (pixels - 0.5) * keep + 0.5


def _encode(vae: Any, pixels: torch.Tensor, node: str) -> torch.Tensor:
    try:
        return vae.encode(pixels)
    except ValueError as exc:
        raise ValueError(f"{node}: input 'pixels': {exc}") from None


class InpaintModelConditioning(Node):
    node_id = "InpaintModelConditioning"
    category = "conditioning/inpaint"
    description = ("Encodes the image with the masked pixels greyed out and sets it, with the mask, as the extra "
                   "input of inpainting models; the latent is the unmasked image, with the mask as its noise mask "
                   "when noise_mask is on.")
    inputs = [
        Socket("CONDITIONING", "positive"),
        Socket("CONDITIONING", "negative"),
        Socket("VAE", "vae"),
        Socket("IMAGE", "pixels"),
        Socket("MASK", "mask"),
        Boolean("noise_mask", default=True,
                tooltip="Add a noise mask to the latent so sampling will only happen within the mask. Might improve "
                        "results or completely break things depending on the model."),
    ]
    outputs = [Out("CONDITIONING", "positive"), Out("CONDITIONING", "negative"), Out("LATENT", "latent")]

    @classmethod
    def run(cls, ctx: Any, *, positive: list, negative: list, vae: Any, pixels: Any, mask: Any,
            noise_mask: bool = True) -> tuple:
        positive = require_conditioning(positive, cls.node_id, "positive")
        negative = require_conditioning(negative, cls.node_id, "negative")
        vae = managed_vae(ctx, require_vae(vae, cls.node_id))
        pixels = require_image(pixels, cls.node_id)[..., :3].float()
        batch, height, width = pixels.shape[0], pixels.shape[1], pixels.shape[2]
        mask = require_mask(mask, cls.node_id, batch)
        mask = F.interpolate(mask, size=(height, width), mode="bilinear")
        rows, cols = centre_crop(height, width, int(getattr(vae, "downscale", 8)), cls.node_id)
        mask = mask[:, :, rows, cols]
        concat_latent = _encode(vae, grey_out(pixels[:, rows, cols], mask), cls.node_id)
        latent: dict[str, Any] = {"samples": _encode(vae, pixels, cls.node_id)}
        if noise_mask:
            latent["noise_mask"] = mask
        values = {"concat_latent_image": concat_latent, "concat_mask": mask}
        return with_values(positive, values), with_values(negative, values), latent


class InstructPixToPixConditioning(Node):
    node_id = "InstructPixToPixConditioning"
    category = "conditioning/instructpix2pix"
    description = ("Encodes the image and sets it as concat_latent_image on both conditionings; the latent is zeros "
                   "of the same shape. latentgraph cannot load InstructPix2Pix (8-channel) checkpoints yet: an "
                   "inpainting model reads the latent as its masked-image input, a 4-channel model ignores it.")
    inputs = [
        Socket("CONDITIONING", "positive"),
        Socket("CONDITIONING", "negative"),
        Socket("VAE", "vae"),
        Socket("IMAGE", "pixels"),
    ]
    outputs = [Out("CONDITIONING", "positive"), Out("CONDITIONING", "negative"), Out("LATENT", "latent")]

    @classmethod
    def run(cls, ctx: Any, *, positive: list, negative: list, vae: Any, pixels: Any) -> tuple:
        positive = require_conditioning(positive, cls.node_id, "positive")
        negative = require_conditioning(negative, cls.node_id, "negative")
        vae = managed_vae(ctx, require_vae(vae, cls.node_id))
        pixels = require_image(pixels, cls.node_id)[..., :3].float()
        rows, cols = centre_crop(pixels.shape[1], pixels.shape[2], int(getattr(vae, "downscale", 8)), cls.node_id)
        concat_latent = _encode(vae, pixels[:, rows, cols], cls.node_id)
        values = {"concat_latent_image": concat_latent}
        return (with_values(positive, values), with_values(negative, values),
                {"samples": torch.zeros_like(concat_latent)})


NODES = [InpaintModelConditioning, InstructPixToPixConditioning]
