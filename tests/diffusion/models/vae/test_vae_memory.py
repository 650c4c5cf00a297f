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
    """As ComfyUI's VAE loads itself, whoever calls encode/decode (a VAE node, an inspect node, a pack) gets the
    VAE loaded, with that call's own estimate, before the inputs move to the VAE's device."""
    handle.free_bytes = lambda device: 64 * GB
    calls = []
    handle.load_with = lambda patchers, work: calls.append((patchers, work))
    latent = _latent(16)
    image = handle.decode(latent)
    handle.encode(image)
    handle.decode_tiled(latent, tile_size=64, overlap=16)
    handle.encode_tiled(image, tile_size=64, overlap=16)
    assert len(calls) == 4 and all(patchers == [handle.patcher] for patchers, _ in calls)
    (_, decode), (_, encode), (_, tiled_decode), (_, tiled_encode) = calls
    whole = vae_decode_bytes(1, 16, 16, dtype_bytes=4)
    assert decode(64 * GB) == whole  # room for the whole decode: its estimate
    for room in (whole // 4, whole // 64):  # the room is passed on: short of it, a tile's estimate
        assert decode(room) == handle.decode_work_bytes(latent.shape, room=room)
    assert encode(64 * GB) == handle.encode_work_bytes(image.shape)
    assert tiled_decode(0) == handle.tiled_decode_work_bytes(64, 16)
    assert tiled_encode(0) == handle.encode_work_bytes(image.shape, tile_size=96)


def test_a_bad_input_is_refused_before_anything_is_loaded(handle):
    calls = []
    handle.load_with = lambda patchers, work: calls.append(work)
    with pytest.raises(ValueError, match="latent must be"):
        handle.decode(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="IMAGE must be"):
        handle.encode(torch.zeros(8, 8, 3))
    assert calls == []
