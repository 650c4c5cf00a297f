"""Latent-to-RGB previews (ComfyUI's Latent2RGB) and their encoding."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from diffusion.sampling.previews import encode_preview, latent_to_rgb


@dataclass
class Format:
    rgb_factors: list
    rgb_bias: list | None = None


SD15_FACTORS = [[0.3512, 0.2297, 0.3227], [0.3250, 0.4974, 0.2350], [-0.2829, 0.1762, 0.2721],
                [-0.2120, -0.2616, -0.7177]]


def test_projection_of_batch_item_zero():
    x0 = torch.zeros(2, 4, 3, 5)
    x0[0, 0] = 1.0  # item 0: channel 0 only
    x0[1] = 7.0  # item 1 must be ignored
    rgb = latent_to_rgb(x0, Format(SD15_FACTORS))
    assert rgb.shape == (3, 5, 3) and rgb.dtype == np.uint8
    expected = [int((v + 1) / 2 * 255) for v in SD15_FACTORS[0]]  # truncation, as ComfyUI's uint8 cast
    assert rgb[1, 2].tolist() == expected


def test_bias_and_clamping():
    x0 = torch.zeros(1, 4, 2, 2)
    x0[0, 3, 0, 0] = 10.0  # far out of range -> clamped
    rgb = latent_to_rgb(x0, Format(SD15_FACTORS, rgb_bias=[0.5, 0.0, -0.5]))
    assert rgb[0, 0].tolist() == [0, 0, 0]
    assert rgb[1, 1].tolist() == [int(1.5 / 2 * 255), int(0.5 * 255), int(0.5 / 2 * 255)]


def test_wrong_factors_or_latent_are_named():
    with pytest.raises(ValueError, match="rgb_factors must be 4 rows"):
        latent_to_rgb(torch.zeros(1, 4, 2, 2), Format(SD15_FACTORS[:3]))
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        latent_to_rgb(torch.zeros(4, 2, 2), Format(SD15_FACTORS))


def test_encoding():
    rgb = latent_to_rgb(torch.randn(1, 4, 8, 8), Format(SD15_FACTORS))
    assert encode_preview(rgb).startswith(b"\xff\xd8")
    assert encode_preview(rgb, "PNG").startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="JPEG"):
        encode_preview(rgb, "GIF")
    with pytest.raises(ValueError, match="uint8"):
        encode_preview(rgb.astype(np.float32))
