"""VAE nodes: encode IMAGE to LATENT and back, plainly, in tiles, and for inpainting (ComfyUI's ids).

IMAGE is [B, H, W, C] float 0..1; LATENT is {"samples": unscaled [B, 4, H/8, W/8], ...}.
Images whose sides are not multiples of 8 are centre-cropped to the nearest multiple below
(as ComfyUI's VAEEncode does). VAEEncodeForInpaint greys out (0.5) the pixels under the
mask before encoding and returns the grown mask as the latent's `noise_mask`; a mask of
another size is resized to the image, as ComfyUI does.

A VAEHandle loads itself through the model manager before it computes (VAEHandle.load_with), with the
planner's estimate of the decode or encode (of one tile when tiled) as the work beside it: the VAE is
counted in the budget, evicted and offloaded like the UNet, and may evict the UNet when both do not fit.
"""

from __future__ import annotations

import math
from typing import Any

from nodes.api.declare import Int, Node, Out, Socket
from nodes.api.lazy import lazy_import

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
vae_handle = lazy_import("diffusion.models.vae.handle")


def require_vae(vae: Any, node: str) -> Any:
    if vae is None:
        raise RuntimeError(f"{node}: input 'vae' is None: the checkpoint contains no VAE; load one with VAELoader")
    if not callable(getattr(vae, "encode", None)) or not callable(getattr(vae, "decode", None)):
        raise TypeError(f"{node}: input 'vae' must be a VAE, got {type(vae).__name__}")
    return vae


def require_image(pixels: Any, node: str, name: str = "pixels") -> torch.Tensor:
    if not isinstance(pixels, torch.Tensor) or pixels.ndim != 4 or pixels.shape[-1] < 3 or 0 in pixels.shape:
        shape = tuple(pixels.shape) if isinstance(pixels, torch.Tensor) else type(pixels).__name__
        raise ValueError(f"{node}: input '{name}' must be an IMAGE [batch, height, width, 3], got {shape}")
    return pixels


def latent_samples(samples: Any, node: str, name: str = "samples") -> torch.Tensor:
    if not isinstance(samples, dict) or not isinstance(samples.get("samples"), torch.Tensor):
        raise TypeError(f"{node}: input '{name}' must be a LATENT dict with 'samples', got {type(samples).__name__}")
    return samples["samples"]


def interrupt_option(ctx: Any, vae: Any) -> dict:
    """`check_interrupt=ctx.check_interrupted` for our VAEHandle (an /interrupt then stops it between batch
    items or tiles); nothing for another pack's VAE object, whose methods may not take it."""
    return {"check_interrupt": ctx.check_interrupted} if isinstance(vae, vae_handle.VAEHandle) else {}


def managed_vae(ctx: Any, vae: Any) -> Any:
    """`vae`, loading itself through the model manager of the run using it (the loaders gave it theirs; a
    VAEHandle made another way, or shared between runtimes as in tests, gets this one's); another pack's VAE
    object is left as it is."""
    if isinstance(vae, vae_handle.VAEHandle) and getattr(ctx, "runtime", None) is not None:
        vae.load_with = ctx.runtime.models.load_for_work
    return vae


def _run(node: str, input_name: str, fn):
    """Call `fn()`; a ValueError from the VAE is re-raised naming the node input."""
    try:
        return fn()
    except ValueError as exc:
        raise ValueError(f"{node}: input '{input_name}': {exc}") from None


class VAEDecode(Node):
    node_id = "VAEDecode"
    display_name = "VAE Decode"
    category = "latent"
    description = "Decodes latent images back into pixel space images."
    inputs = [Socket("LATENT", "samples", tooltip="The latent to be decoded."),
              Socket("VAE", "vae", tooltip="The VAE model used for decoding the latent.")]
    outputs = [Out("IMAGE", tooltip="The decoded image.")]

    @classmethod
    def run(cls, ctx: Any, *, samples: Any, vae: Any) -> tuple:
        vae = managed_vae(ctx, require_vae(vae, cls.node_id))
        latent = latent_samples(samples, cls.node_id)
        return (_run(cls.node_id, "samples", lambda: vae.decode(latent, **interrupt_option(ctx, vae))),)


class VAEEncode(Node):
    node_id = "VAEEncode"
    display_name = "VAE Encode"
    category = "latent"
    inputs = [Socket("IMAGE", "pixels"), Socket("VAE", "vae")]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, pixels: Any, vae: Any) -> tuple:
        vae = managed_vae(ctx, require_vae(vae, cls.node_id))
        pixels = require_image(pixels, cls.node_id)
        return ({"samples": _run(cls.node_id, "pixels", lambda: vae.encode(pixels[..., :3], **interrupt_option(ctx, vae)))},)


TEMPORAL = [
    Int("temporal_size", default=64, min=8, max=4096, step=4,
        tooltip="Only used for video VAEs: Amount of frames to decode at a time."),
    Int("temporal_overlap", default=8, min=4, max=4096, step=4,
        tooltip="Only used for video VAEs: Amount of frames to overlap."),
]


class VAEDecodeTiled(Node):
    node_id = "VAEDecodeTiled"
    display_name = "VAE Decode (Tiled)"
    category = "_for_testing"
    inputs = [
        Socket("LATENT", "samples"), Socket("VAE", "vae"),
        Int("tile_size", default=512, min=64, max=4096, step=32),
        Int("overlap", default=64, min=0, max=4096, step=32),
        *TEMPORAL,
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, samples: Any, vae: Any, tile_size: int, overlap: int = 64, temporal_size: int = 64,
            temporal_overlap: int = 8) -> tuple:
        vae = managed_vae(ctx, require_vae(vae, cls.node_id))
        latent = latent_samples(samples, cls.node_id)
        if tile_size < overlap * 4:
            overlap = tile_size // 4
        option = interrupt_option(ctx, vae)
        return (_run(cls.node_id, "samples", lambda: vae.decode_tiled(latent, tile_size, overlap, **option)),)


class VAEEncodeTiled(Node):
    node_id = "VAEEncodeTiled"
    display_name = "VAE Encode (Tiled)"
    category = "_for_testing"
    inputs = [
        Socket("IMAGE", "pixels"), Socket("VAE", "vae"),
        Int("tile_size", default=512, min=64, max=4096, step=64),
        Int("overlap", default=64, min=0, max=4096, step=32),
        *TEMPORAL,
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, pixels: Any, vae: Any, tile_size: int, overlap: int = 64, temporal_size: int = 64,
            temporal_overlap: int = 8) -> tuple:
        vae = managed_vae(ctx, require_vae(vae, cls.node_id))
        pixels = require_image(pixels, cls.node_id)
        if tile_size < overlap * 4:
            overlap = tile_size // 4
        option = interrupt_option(ctx, vae)
        return ({"samples": _run(cls.node_id, "pixels",
                                 lambda: vae.encode_tiled(pixels[..., :3], tile_size, overlap, **option))},)


def inpaint_inputs(pixels: torch.Tensor, mask: torch.Tensor, factor: int, grow_mask_by: int,
                   node: str = "VAEEncodeForInpaint") -> tuple[torch.Tensor, torch.Tensor]:
    """(pixels cropped to a multiple of `factor` with the masked pixels set to 0.5, the grown noise mask [B,1,H,W])."""
    if not isinstance(mask, torch.Tensor) or mask.ndim not in (2, 3) or 0 in mask.shape:
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"{node}: input 'mask' must be a MASK [batch, height, width], got {got}")
    batch, height, width = pixels.shape[0], pixels.shape[1], pixels.shape[2]
    mask = mask.float().reshape(-1, 1, mask.shape[-2], mask.shape[-1])
    if mask.shape[0] not in (1, batch):
        raise ValueError(f"{node}: input 'mask' has {mask.shape[0]} masks for {batch} images; give 1 or {batch}")
    mask = F.interpolate(mask, size=(height, width), mode="bilinear")
    crop_h, crop_w = height // factor * factor, width // factor * factor
    if crop_h == 0 or crop_w == 0:
        raise ValueError(f"{node}: input 'pixels': an image of {width}x{height} is smaller than {factor}x{factor}")
    top, left = (height % factor) // 2, (width % factor) // 2
    pixels = pixels[:, top:top + crop_h, left:left + crop_w, :3].clone().float()
    mask = mask[:, :, top:top + crop_h, left:left + crop_w]
    if grow_mask_by == 0:
        grown = mask
    else:
        kernel = torch.ones((1, 1, grow_mask_by, grow_mask_by))
        padding = math.ceil((grow_mask_by - 1) / 2)
        grown = torch.clamp(F.conv2d(mask.round(), kernel, padding=padding), 0, 1)
    keep = (1.0 - mask.round()).squeeze(1).unsqueeze(-1)
    pixels = (pixels - 0.5) * keep + 0.5
    return pixels, grown[:, :, :crop_h, :crop_w].round()


class VAEEncodeForInpaint(Node):
    node_id = "VAEEncodeForInpaint"
    display_name = "VAE Encode (for Inpainting)"
    category = "latent/inpaint"
    inputs = [
        Socket("IMAGE", "pixels"), Socket("VAE", "vae"), Socket("MASK", "mask"),
        Int("grow_mask_by", default=6, min=0, max=64, step=1),
    ]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, pixels: Any, vae: Any, mask: Any, grow_mask_by: int = 6) -> tuple:
        vae = managed_vae(ctx, require_vae(vae, cls.node_id))
        pixels = require_image(pixels, cls.node_id)
        if not 0 <= int(grow_mask_by) <= 64:
            raise ValueError(f"{cls.node_id}: input 'grow_mask_by' must be in 0..64, got {grow_mask_by}")
        factor = int(getattr(vae, "downscale", 8))
        greyed, noise_mask = inpaint_inputs(pixels, mask, factor, int(grow_mask_by), cls.node_id)
        samples = _run(cls.node_id, "pixels", lambda: vae.encode(greyed, **interrupt_option(ctx, vae)))
        return ({"samples": samples, "noise_mask": noise_mask},)


NODES = [VAEDecode, VAEEncode, VAEDecodeTiled, VAEEncodeTiled, VAEEncodeForInpaint]
