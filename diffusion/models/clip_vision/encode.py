"""Encoding images with a CLIP vision tower, as ComfyUI's CLIPVisionEncode does.

`preprocess(image, size, crop)`: IMAGE [B, H, W, C] in 0..1 (alpha dropped) -> [B, 3, size, size]:
- crop=True ("center"): scaled (bicubic, antialiased) so the shorter side is `size`, sides rounded,
  then the centre `size` x `size` cut out;
- crop=False ("none"): scaled to `size` x `size` whatever the aspect;
an image already `size` x `size` is not resampled. Then quantised to 1/255 steps (clamped to
0..1) and normalised with CLIP's mean and std.

`ClipVision` is the CLIP_VISION handle; `encode_image` returns a `ClipVisionOutput` with
`last_hidden_state`, `penultimate_hidden_states` and `image_embeds` (readable as attributes or
`output["image_embeds"]`, as custom packs do).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from diffusion.models.clip_vision.model import ClipVisionModel

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def preprocess(image: torch.Tensor, size: int, crop: bool = True) -> torch.Tensor:
    if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"an IMAGE must be [batch, height, width, 3], got {shape}")
    if image.shape[-1] == 1:
        image = image.expand(-1, -1, -1, 3)
    pixels = image[..., :3].movedim(-1, 1).float()
    height, width = pixels.shape[2], pixels.shape[3]
    if (height, width) != (size, size):
        if crop:
            scale = size / min(height, width)
            target = (round(scale * height), round(scale * width))
        else:
            target = (size, size)
        pixels = F.interpolate(pixels, size=target, mode="bicubic", antialias=True)
        top, left = (pixels.shape[2] - size) // 2, (pixels.shape[3] - size) // 2
        pixels = pixels[:, :, top:top + size, left:left + size]
    pixels = torch.clamp(pixels * 255.0, 0, 255).round() / 255.0
    mean = torch.tensor(CLIP_MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=pixels.device).view(1, 3, 1, 1)
    return (pixels - mean) / std


@dataclass
class ClipVisionOutput:
    last_hidden_state: torch.Tensor
    penultimate_hidden_states: torch.Tensor
    image_embeds: torch.Tensor
    extra: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> torch.Tensor:
        if key in self.extra:
            return self.extra[key]
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value) -> None:
        if key in ("last_hidden_state", "penultimate_hidden_states", "image_embeds"):
            setattr(self, key, value)
        else:
            self.extra[key] = value

    def __contains__(self, key: str) -> bool:
        return key in self.extra or key in ("last_hidden_state", "penultimate_hidden_states", "image_embeds")


class ClipVision:
    """A loaded CLIP vision model: what CLIPVisionLoader returns (CLIP_VISION)."""

    def __init__(self, model: ClipVisionModel, *, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32):
        self.model = model.to(device=device, dtype=dtype)
        self.dtype = dtype

    @property
    def device(self) -> torch.device:
        """Where the model computes: where its weights are (the model manager moves them; see the nodes)."""
        weights = next(self.model.parameters(), None)
        return weights.device if weights is not None else torch.device("cpu")

    @property
    def config(self):
        return self.model.config

    @property
    def image_size(self) -> int:
        return self.model.config.image_size

    def state_dict(self) -> Mapping[str, torch.Tensor]:
        return self.model.state_dict()

    @torch.no_grad()
    def encode_image(self, image: torch.Tensor, crop: bool = True) -> ClipVisionOutput:
        pixels = preprocess(image, self.image_size, crop).to(self.device, self.dtype)
        last, penultimate, embeds = self.model(pixels)
        return ClipVisionOutput(last_hidden_state=last.float().cpu(),
                                penultimate_hidden_states=penultimate.float().cpu(),
                                image_embeds=embeds.float().cpu())
