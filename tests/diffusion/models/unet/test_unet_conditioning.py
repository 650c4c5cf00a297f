"""SDXL vector conditioning: layout of `y` for base and refiner, and bad input."""

from __future__ import annotations

import pytest
import torch

from diffusion.models.unet.blocks import timestep_embedding
from diffusion.models.unet.sdxl_conditioning import adm_channels, adm_vector


def test_base_vector_layout():
    pooled = torch.randn(3, 8)
    y = adm_vector("sdxl", pooled, width=1024, height=768, crop_w=4, crop_h=2)
    assert y.shape == (3, 8 + 6 * 256) == (3, adm_channels("sdxl", 8))
    assert torch.equal(y[:, :8], pooled)
    # Order: height, width, crop_h, crop_w, target_height, target_width (targets default to the size).
    expected = timestep_embedding(torch.tensor([768.0, 1024.0, 2.0, 4.0, 768.0, 1024.0]), 256).reshape(-1)
    assert torch.allclose(y[1, 8:], expected)


def test_refiner_vector_uses_aesthetic_score():
    pooled = torch.zeros(1, 4)
    y = adm_vector("sdxl-refiner", pooled, width=512, height=256, aesthetic_score=2.5)
    assert y.shape == (1, 4 + 5 * 256) == (1, adm_channels("sdxl-refiner", 4))
    expected = timestep_embedding(torch.tensor([256.0, 512.0, 0.0, 0.0, 2.5]), 256).reshape(-1)
    assert torch.allclose(y[0, 4:], expected)
    assert not torch.equal(y, adm_vector("sdxl-refiner", pooled, width=512, height=256, aesthetic_score=6.0))


def test_vector_follows_pooled_dtype():
    y = adm_vector("sdxl", torch.zeros(1, 4, dtype=torch.bfloat16), width=64, height=64)
    assert y.dtype == torch.bfloat16


def test_bad_input():
    with pytest.raises(ValueError, match="only for sdxl, sdxl-refiner, not 'sd15'"):
        adm_vector("sd15", torch.zeros(1, 4), 64, 64)
    with pytest.raises(ValueError, match=r"pooled must be \[batch, dim\]"):
        adm_vector("sdxl", torch.zeros(4), 64, 64)


def test_timestep_embedding_is_cos_then_sin():
    emb = timestep_embedding(torch.tensor([0.0, 1.0]), 6)
    assert torch.allclose(emb[0], torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0]))
    freqs = torch.exp(-torch.log(torch.tensor(10000.0)) * torch.arange(3) / 3)
    assert torch.allclose(emb[1], torch.cat([torch.cos(freqs), torch.sin(freqs)]))
    assert timestep_embedding(torch.tensor([1.0]), 5).shape == (1, 5)
