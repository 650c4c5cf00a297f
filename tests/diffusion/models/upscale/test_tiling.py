"""Tiled upscaling: ComfyUI's tile placement, exact blending for a pointwise model, the tile the memory
estimate picks, halving on out-of-memory."""

from __future__ import annotations

import pytest
import torch

from diffusion.models.upscale import tiling


def nearest4(x: torch.Tensor) -> torch.Tensor:
    """A pointwise 4x 'model': each output pixel depends on one input pixel only."""
    return torch.nn.functional.interpolate(x * 0.5 + 0.25, scale_factor=4, mode="nearest")


def test_tile_positions_follow_comfyui_placement():
    # range(0, 100 - 8, 64 - 8) = 0, 56; the last tile is cut at the border: 100 - 56 = 44 wide
    assert tiling.tile_positions(100, 64, 8) == [(0, 64), (56, 44)]
    assert tiling.tile_positions(64, 64, 8) == [(0, 64)]
    assert tiling.tile_positions(130, 64, 8) == [(0, 64), (56, 64), (112, 18)]
    assert tiling.tile_count(100, 130, 64, 8) == 6
    assert tiling.tile_count(60, 60, 64, 8) == 1


def test_tiled_equals_untiled_for_a_pointwise_model():
    image = torch.rand(2, 3, 70, 90, generator=torch.Generator().manual_seed(0))
    tiled = tiling.tiled_scale(image, nearest4, tile=32, overlap=8, scale=4)
    assert tiled.shape == (2, 3, 280, 360)
    torch.testing.assert_close(tiled, nearest4(image), atol=1e-6, rtol=0)


def test_blend_weights_are_comfyui_linear_feather():
    # a 'model' that returns the tile index as a constant: the blend in the overlap is the feathered mean
    calls = []

    def constant(x):
        calls.append(tuple(x.shape[-2:]))
        return torch.full((1, 3, x.shape[-2], x.shape[-1]), float(len(calls)))

    out = tiling.tiled_scale(torch.zeros(1, 3, 4, 7), constant, tile=4, overlap=2, scale=1)
    # width 7: tiles at x=0 (4 wide), x=2 (4 wide), x=4 (3 wide); feather 2 -> weights [.5, 1, 1, .5]
    assert calls == [(4, 4), (4, 4), (4, 3)]
    row = out[0, 0, 1]
    assert row[0] == pytest.approx(1.0)  # only tile 1
    # x=2 is tile 1's 3rd pixel (weight 1) and tile 2's 1st (weight .5)
    assert row[2] == pytest.approx((1 * 1.0 + 2 * 0.5) / 1.5)
    assert row[6] == pytest.approx(3.0)


def test_choose_tile_fits_a_4x_upscale_of_2048_and_falls_back():
    shape = (1, 3, 2048, 2048)
    needed = {t: tiling.estimate_bytes(t, scale=4, element_size=4, image_shape=shape, parameter_bytes=67_000_000)
              for t in (512, 256, 128)}
    assert needed[512] > needed[256] > needed[128]
    args = dict(scale=4, element_size=4, image_shape=shape, parameter_bytes=67_000_000)
    assert tiling.choose_tile(**args, available=needed[512]) == 512
    assert tiling.choose_tile(**args, available=needed[512] - 1) == 256
    assert tiling.choose_tile(**args, available=needed[128] - 1) == 128
    # the output of a 4x 2048^2 upscale (8192^2 x 3 floats, 805 MB) dominates, not the whole image's work
    assert needed[128] < 2 * 3 * 8192 * 8192 * 4


def test_out_of_memory_halves_the_tile_down_to_128():
    tried = []

    def flaky(x):
        if x.shape[-1] > 128:
            raise torch.OutOfMemoryError("pretend")
        return nearest4(x)

    image = torch.rand(1, 3, 300, 300)
    out, used = tiling.upscale_with_oom_retry(image, flaky, scale=4, tile=512,
                                              on_tile_size=lambda t, n: tried.append((t, n)))
    assert used == 128 and [t for t, _ in tried] == [512, 256, 128]
    assert tried[-1][1] == tiling.tile_count(300, 300, 128, 32)
    torch.testing.assert_close(out, nearest4(image), atol=1e-6, rtol=0)

    def always(x):
        raise torch.OutOfMemoryError("pretend")

    with pytest.raises(torch.OutOfMemoryError):
        tiling.upscale_with_oom_retry(image, always, scale=4, tile=512)


def test_tile_must_exceed_overlap():
    with pytest.raises(ValueError, match="larger than overlap"):
        tiling.tiled_scale(torch.zeros(1, 3, 8, 8), nearest4, tile=4, overlap=4, scale=4)
