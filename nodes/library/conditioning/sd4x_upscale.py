"""SD_4XUpscale_Conditioning (ComfyUI's comfy_extras/nodes_sdupscale.py): the inputs of SD x4 upscaler models.

With W x H the image size scaled by `scale_ratio` (rounded, at least 1), the node:
- resizes the image, mapped to -1..1 and channels first, to (W//4) x (H//4) (bilinear, centre crop
  to that aspect) and puts it on every positive and negative entry as `concat_image`;
- puts `noise_augmentation` (the low-resolution noise level, 0..1) on every entry as well: the
  x4 upscaler model noises the concat image by it, as ComfyUI's model does; this node only carries it;
- returns an empty latent [B, 4, H//4, W//4] to sample into (the upscaler's latent is 1/4 of W x H).
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.conditioning.edit import require_conditioning, with_values
from nodes.library.latent.vae_codec import require_image

torch = lazy_import("torch")
resample = lazy_import("diffusion.imaging.resample")


class SD_4XUpscale_Conditioning(Node):  # noqa: N801 (ComfyUI's node id)
    node_id = "SD_4XUpscale_Conditioning"
    category = "conditioning/upscale_diffusion"
    description = ("The conditioning and empty latent of an SD x4 upscaler model: the image (at 1/4 of the scaled "
                   "size, in -1..1) and the noise augmentation on every entry.")
    inputs = [
        Socket("IMAGE", "images"),
        Socket("CONDITIONING", "positive"),
        Socket("CONDITIONING", "negative"),
        Float("scale_ratio", default=4.0, min=0.0, max=10.0, step=0.01),
        Float("noise_augmentation", default=0.0, min=0.0, max=1.0, step=0.001),
    ]
    outputs = [Out("CONDITIONING", "positive"), Out("CONDITIONING", "negative"), Out("LATENT", "latent")]

    @classmethod
    def run(cls, ctx: Any, *, images: Any, positive: Any, negative: Any, scale_ratio: float,
            noise_augmentation: float) -> tuple:
        images = require_image(images, cls.node_id, "images")
        positive = require_conditioning(positive, cls.node_id, "positive")
        negative = require_conditioning(negative, cls.node_id, "negative")
        width = max(1, round(images.shape[2] * scale_ratio))
        height = max(1, round(images.shape[1] * scale_ratio))
        if width < 4 or height < 4:
            raise ValueError(f"{cls.node_id}: input 'scale_ratio': {images.shape[2]}x{images.shape[1]} scaled by "
                             f"{scale_ratio} is {width}x{height}, smaller than the 4x4 of one latent pixel")
        pixels = images[..., :3].movedim(-1, 1).float() * 2.0 - 1.0
        pixels = resample.resize(pixels, width // 4, height // 4, "bilinear", "center")
        values = {"concat_image": pixels, "noise_augmentation": float(noise_augmentation)}
        latent = torch.zeros(images.shape[0], 4, height // 4, width // 4)
        return with_values(positive, values), with_values(negative, values), {"samples": latent}


NODES = [SD_4XUpscale_Conditioning]
