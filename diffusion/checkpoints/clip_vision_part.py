"""The CLIP vision tower some checkpoints carry, and the video checkpoints we refuse.

A checkpoint's image encoder sits under one of `CLIP_VISION_PREFIXES` (ComfyUI's
`clip_vision_prefix` of the model families that have one), in the OpenAI / OpenCLIP `visual.*`
layout of the released files or in the Hugging Face layout (`vision_model.*`, what ComfyUI's
save_checkpoint writes back under the same prefix). `find_clip_vision` tells which;
`ClipVisionSource.extract` returns the tensors in the Hugging Face layout of
`diffusion.models.clip_vision.model`.

Stable Video Diffusion checkpoints (temporal `time_stack` / `time_mixer` layers in the UNet) are
told apart so that loading one says plainly that video models are not supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from diffusion.models.clip_vision.openclip_layout import HF_MARKER, OPENCLIP_MARKER, openclip_visual_to_hf

# SD2.1 unCLIP (released and ComfyUI-saved), an HF-layout variant, SVD, Stable Zero123.
CLIP_VISION_PREFIXES = ("embedder.model.visual.", "embedder.transformer.",
                        "conditioner.embedders.0.open_clip.model.visual.", "cond_stage_model.model.visual.")
VIDEO_MARKERS = (".time_stack.", ".time_mixer.", ".time_pos_embed.")


@dataclass(frozen=True)
class ClipVisionSource:
    """Where a checkpoint's CLIP vision tensors sit and in which key layout."""

    prefix: str
    layout: str  # "openclip" | "hf"

    def keys(self, sd: Mapping) -> list[str]:
        return [k for k in sd if k.startswith(self.prefix)]

    def extract(self, sd: Mapping) -> dict[str, torch.Tensor]:
        """The tower's tensors without the prefix, in the Hugging Face layout."""
        rest = {k[len(self.prefix):]: sd[k] for k in self.keys(sd)}
        return openclip_visual_to_hf(rest) if self.layout == "openclip" else rest


def find_clip_vision(sd: Mapping) -> ClipVisionSource | None:
    """The first known prefix holding a CLIP vision tower, or None when the checkpoint has none."""
    for prefix in CLIP_VISION_PREFIXES:
        if prefix + OPENCLIP_MARKER in sd:
            return ClipVisionSource(prefix, "openclip")
        if prefix + HF_MARKER in sd:
            return ClipVisionSource(prefix, "hf")
    return None


def is_video_checkpoint(keys, unet_prefix: str) -> bool:
    """True for a UNet with temporal layers (Stable Video Diffusion and its relatives)."""
    return any(k.startswith(unet_prefix) and any(m in k for m in VIDEO_MARKERS) for k in keys)
