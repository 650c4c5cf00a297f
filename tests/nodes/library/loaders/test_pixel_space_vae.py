"""VAELoader's `pixel_space`: listed after the VAE files, and a VAE whose latent is the image in -1..1."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from diffusion.models.vae.pixel_space import PixelSpaceVAE
from nodes.library.latent.vae_codec import VAEDecode, VAEDecodeTiled, VAEEncode, VAEEncodeTiled
from nodes.library.loaders.model_loaders import VAELoader
from tests.nodes.sd_fakes import schema
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files  # noqa: F401


def image(batch=2, height=5, width=7, channels=3):
    return torch.rand(batch, height, width, channels, generator=torch.Generator().manual_seed(0))


def test_pixel_space_is_offered_after_the_vae_files(sd_runtime):
    folder = sd_runtime.folders.models_dir / "vae"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.safetensors").write_bytes(b"")
    (spec,) = schema(VAELoader, sd_runtime).inputs
    assert spec.choices == ("a.safetensors", "pixel_space")
    assert VAELoader.fingerprint(context(sd_runtime), vae_name="pixel_space") == ["pixel_space"]


def test_encode_is_the_image_in_minus_one_to_one_channels_first(sd_runtime):
    ctx = context(sd_runtime)
    (vae,) = call(VAELoader, ctx, vae_name="pixel_space")
    assert isinstance(vae, PixelSpaceVAE) and vae.downscale == 1
    pixels = image(channels=4)  # RGBA: the alpha is dropped, nothing is cropped (odd sizes stay)
    (latent,) = call(VAEEncode, ctx, pixels=pixels, vae=vae)
    expected = pixels[..., :3].movedim(-1, 1) * 2 - 1
    torch.testing.assert_close(latent["samples"], expected)
    (tiled,) = call(VAEEncodeTiled, ctx, pixels=pixels, vae=vae, tile_size=64, overlap=0)
    torch.testing.assert_close(tiled["samples"], expected)


def test_decode_maps_back_and_clamps(sd_runtime):
    ctx = context(sd_runtime)
    (vae,) = call(VAELoader, ctx, vae_name="pixel_space")
    samples = torch.tensor([-2.0, -1.0, 0.0, 0.5, 3.0]).reshape(1, 1, 1, 5).expand(1, 3, 1, 5).contiguous()
    (decoded,) = call(VAEDecode, ctx, samples={"samples": samples}, vae=vae)
    assert decoded.shape == (1, 1, 5, 3)
    torch.testing.assert_close(decoded[0, 0, :, 0], torch.tensor([0.0, 0.0, 0.5, 0.75, 1.0]))
    pixels = image()
    (round_trip,) = call(VAEDecodeTiled, ctx, samples=call(VAEEncode, ctx, pixels=pixels, vae=vae)[0], vae=vae,
                         tile_size=64, overlap=0)
    torch.testing.assert_close(round_trip, pixels)


def test_a_latent_that_is_not_three_channels_is_refused(sd_runtime):
    (vae,) = call(VAELoader, context(sd_runtime), vae_name="pixel_space")
    with pytest.raises(ValueError, match=r"VAEDecode: input 'samples': a pixel-space latent must be \[batch, 3"):
        call(VAEDecode, context(sd_runtime), samples={"samples": torch.zeros(1, 4, 8, 8)}, vae=vae)
