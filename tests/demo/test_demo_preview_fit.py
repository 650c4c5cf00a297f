"""The pieces behind the demo model's preview, on synthetic data: the least-squares factor fit, the
seeded decoder training, and the patch-decoder file layout (loaded by the preview loader)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from diffusion.demo.preview_train import fit_rgb_factors, train_patch_decoder
from diffusion.models.taesd.patch_decoder import patch_decoder, patch_decoder_from_state_dict
from diffusion.sampling.previews import load_taesd_decoder


def test_the_factor_fit_recovers_a_linear_map_exactly():
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(6, 4, 8, 8, generator=generator)
    factors = torch.randn(4, 3, generator=generator) * 0.3
    bias = torch.tensor([0.1, -0.2, 0.05])
    rgb = torch.einsum("bchw,cr->brhw", latents, factors) + bias[None, :, None, None]
    images = ((rgb + 1) / 2).repeat_interleave(8, dim=2).repeat_interleave(8, dim=3)  # 8x8 patches of one colour
    got_factors, got_bias = fit_rgb_factors(latents, images)
    assert torch.allclose(torch.from_numpy(got_factors), factors, atol=1e-4)
    assert torch.allclose(torch.from_numpy(got_bias), bias, atol=1e-4)


def test_decoder_training_is_seeded_and_learns():
    generator = torch.Generator().manual_seed(1)
    latents = torch.randn(16, 4, 2, 2, generator=generator)
    images = torch.sigmoid(latents[:, :3]).repeat_interleave(8, dim=2).repeat_interleave(8, dim=3)
    first = train_patch_decoder(latents, images, seed=0, steps=30, width=8, batch_size=8)
    second = train_patch_decoder(latents, images, seed=0, steps=30, width=8, batch_size=8)
    untrained = train_patch_decoder(latents, images, seed=0, steps=0, width=8, batch_size=8)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with torch.no_grad():
        assert (first(latents) - images).pow(2).mean() < (untrained(latents) - images).pow(2).mean()


def test_the_preview_loader_reads_a_patch_decoder_file(tmp_path):
    model = patch_decoder(4, 8)
    path = tmp_path / "latentgraph-demo_decoder.safetensors"
    save_file({k: v.half().contiguous() for k, v in model.state_dict().items()}, str(path))
    loaded = load_taesd_decoder(path)
    assert loaded(torch.zeros(1, 4, 3, 2)).shape == (1, 3, 24, 16)
    assert loaded[0].weight.shape == (8, 4, 3, 3)


def test_other_weights_are_refused_with_the_expected_keys():
    with pytest.raises(ValueError, match="expected exactly the keys 0.weight"):
        patch_decoder_from_state_dict({"0.weight": torch.zeros(8, 4, 3, 3)}, name="x.safetensors")
