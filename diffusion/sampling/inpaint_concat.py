"""Extra input channels of inpainting UNets (e.g. SD1.5 inpaint, 9 channels = 4 latent + 1 mask + 4 image).

As in ComfyUI, the UNet input is [x, mask, masked_image_latent]: the mask is the cond's
`concat_mask` or the latent's noise mask (rounded to 0/1), the image latent the cond's
`concat_latent_image` or the input latent. Without any mask the model is told "inpaint
everything" with a latent of a blank image.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from diffusion.sampling.conds import repeat_to_batch_size

# The SD VAE latent of an all-zero (mid-grey after scaling) image, per channel (ComfyUI's values).
BLANK_IMAGE_LATENT = (0.8223, -0.6876, 0.6364, 0.1380)


def _fit(tensor: torch.Tensor, size: tuple[int, int], batch: int) -> torch.Tensor:
    if tuple(tensor.shape[-2:]) != size:
        tensor = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)
    return repeat_to_batch_size(tensor, batch)


def inpaint_concat(options: dict, *, latent_image: torch.Tensor, noise_mask: torch.Tensor | None,
                   process_in: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """The [B, 1 + C, H, W] tensor appended to the UNet input of an inpainting model."""
    batch, channels = latent_image.shape[0], latent_image.shape[1]
    size = (latent_image.shape[2], latent_image.shape[3])
    image = options.get("concat_latent_image")
    if image is not None:
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != channels:
            raise ValueError(f"concat_latent_image must be a [B, {channels}, H, W] latent")
        image = _fit(process_in(image.float().to(latent_image.device)), size, batch)
    else:
        image = latent_image
    mask = options.get("concat_mask", noise_mask)
    if mask is None:
        blank = torch.tensor(BLANK_IMAGE_LATENT[:channels], dtype=latent_image.dtype, device=latent_image.device)
        blank_image = blank.reshape(1, -1, 1, 1).expand(batch, -1, *size)
        return torch.cat([torch.ones_like(latent_image[:, :1]), blank_image], dim=1)
    if mask.ndim == 4:
        mask = mask[:, :1]
    mask = mask.float().reshape(-1, 1, mask.shape[-2], mask.shape[-1]).to(latent_image.device)
    mask = _fit(mask, size, batch).round()
    return torch.cat([mask, image], dim=1)
