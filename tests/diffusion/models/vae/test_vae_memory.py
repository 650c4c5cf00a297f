"""VAE decode under memory pressure: whole when it fits, tiled when it does not, smaller tiles after an
out-of-memory error, float32 again after a float16 overflow."""

from __future__ import annotations

import pytest
import torch

from diffusion.memory.planner import GB, vae_decode_bytes
from diffusion.models.vae.handle import VAEHandle
from diffusion.models.vae.tiling import decode_tiled
from diffusion.models.vae.vae import AutoencoderKL, VAEConfig


@pytest.fixture
def handle(randomize):
    return VAEHandle(randomize(AutoencoderKL(VAEConfig.preset("tiny")), seed=3))


def _latent(size=32):
    return torch.randn(1, 4, size, size, generator=torch.Generator().manual_seed(0))


def test_enough_memory_decodes_whole(handle):
    handle.free_bytes = lambda device: 64 * GB
    latent = _latent(16)
    image = handle.decode(latent)
    assert handle.last_decode_tile is None
    with torch.no_grad():
        whole = ((handle.model.decode(latent) + 1) / 2).clamp(0, 1).movedim(1, -1)
    assert torch.equal(image, whole)


def test_short_memory_decodes_in_the_largest_tile_that_fits(handle):
    latent = _latent(48)
    whole_needs = vae_decode_bytes(1, 48, 48, dtype_bytes=4)
    handle.free_bytes = lambda device: int(whole_needs * 0.75)
    image = handle.decode(latent)
    assert handle.last_decode_tile == 192  # 256 px plus its overlap is already the whole 384 px picture
    with torch.no_grad():
        tiled = decode_tiled(handle.model, latent, 24, 8)
    assert torch.equal(image, ((tiled + 1) / 2).clamp(0, 1).movedim(1, -1))


def test_an_out_of_memory_error_retries_in_smaller_tiles(handle, monkeypatch):
    handle.free_bytes = lambda device: 64 * GB
    tried = []
    real = handle._decode_pixels

    def flaky(latent, tile, check_interrupt):
        tried.append(tile)
        if tile is None or tile > 256:
            raise torch.OutOfMemoryError("simulated")
        return real(latent, tile, check_interrupt)

    monkeypatch.setattr(handle, "_decode_pixels", flaky)
    image = handle.decode(_latent(16))
    assert tried == [None, 512, 256] and image.shape == (1, 128, 128, 3)


def test_a_float16_overflow_is_decoded_again_in_float32(handle, monkeypatch):
    handle.model.half()
    handle.free_bytes = lambda device: 64 * GB
    calls = []
    real = handle._decode_pixels

    def overflowing(latent, tile, check_interrupt):
        calls.append(handle.model.encoder.conv_in.weight.dtype)
        if len(calls) == 1:
            return torch.full((1, 3, 8, 8), float("nan"), dtype=torch.float16)
        return real(latent.float(), tile, check_interrupt)

    monkeypatch.setattr(handle, "_decode_pixels", overflowing)
    image = handle.decode(_latent(4))
    assert calls == [torch.float16, torch.float32] and torch.isfinite(image).all()
    assert handle.model.encoder.conv_in.weight.dtype == torch.float32


def test_every_encode_and_decode_asks_the_model_manager_first(handle):
    """As ComfyUI's VAE loads itself, a caller other than the VAE nodes (inspect nodes, a pack calling
    vae.decode) gets the VAE loaded: the manager's load runs before the inputs move to the VAE's device."""
    handle.free_bytes = lambda device: 64 * GB
    calls = []

    def load(patchers, *, work_bytes):
        calls.append((patchers, work_bytes, handle.device))

    handle.load_with = load
    image = handle.decode(_latent(8))
    handle.encode(image)
    handle.decode_tiled(_latent(8), tile_size=32, overlap=8)
    handle.encode_tiled(image, tile_size=32, overlap=8)
    assert len(calls) == 4 and all(patchers == [handle.patcher] for patchers, _, _ in calls)
    assert all(work == handle.tiled_decode_work_bytes(512) > 0 for _, work, _ in calls)  # one tile's, not the whole
