"""HyperTile: tile bookkeeping, the tile counts, and tiled self-attention equal to attention per tile by hand."""

from __future__ import annotations

import random

import pytest
import torch

from diffusion.models.unet.blocks import CrossAttention
from diffusion.models.unet.hypertile import from_tiles, hypertile_patches, map_size, random_divisor, to_tiles


def test_tiles_are_the_blocks_of_the_map_in_row_major_order():
    tokens = torch.arange(16.0).reshape(1, 16, 1)  # a 4x4 map, token value = its index
    tiles = to_tiles(tokens, 4, 4, 2, 2)
    assert tiles.shape == (4, 4, 1)
    assert tiles[:, :, 0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    assert torch.equal(from_tiles(tiles, 4, 4, 2, 2), tokens)


def test_random_divisor_picks_among_the_smallest_divisors_at_least_the_minimum():
    # divisors of 12 that are >= 3: 3, 4, 6, 12; the two smallest give 12 // 3 = 4 or 12 // 4 = 3 tiles
    picks = {random_divisor(12, 3, 2, counter) for counter in range(20)}
    assert picks == {4, 3}
    assert random_divisor(12, 3, 2, 7) == [4, 3][random.Random(7).randint(0, 1)]
    assert random_divisor(8, 100, 5, 1) == 1  # a tile larger than the map: one tile
    assert random_divisor(8, 4, 1, 3) == 2


def test_map_size_follows_the_aspect_ratio():
    assert map_size(64, [1, 4, 8, 8]) == (8, 8)
    assert map_size(24, [1, 4, 32, 48]) == (4, 6)  # rows and cols, not swapped
    assert map_size(6, [1, 4, 16, 48]) == (1, 6)
    assert map_size(10, [1, 4, 8, 8]) == (5, 2)  # no exact fit: the divisor pair closest to square


def _attention(dim=16):
    torch.manual_seed(0)
    return CrossAttention(dim, heads=2, dim_head=dim // 2).eval()


def _run(attn, n, patches, shape):
    tile_in, tile_out = patches
    info = {"original_shape": shape}
    q, keys, values = tile_in(n, None, None, info)
    with torch.no_grad():
        return tile_out(attn(q, keys, values), info), q.shape


def test_tiled_attention_equals_attention_inside_each_tile():
    attn = _attention()
    n = torch.randn(2, 64, 16, generator=torch.Generator().manual_seed(1))  # an 8x8 map
    # tile_size 32 -> 4-token tiles; divisors of 8 that are >= 4: 4 (swap_size 1) -> 2 x 2 tiles of 4 x 4
    out, q_shape = _run(attn, n, hypertile_patches(16, 32, 1, 0, False), [2, 4, 8, 8])
    assert q_shape == (8, 16, 16)
    grid = torch.arange(64).reshape(8, 8)
    expected = torch.empty_like(n)
    with torch.no_grad():
        for top in (0, 4):
            for left in (0, 4):
                index = grid[top:top + 4, left:left + 4].reshape(-1)
                expected[:, index] = attn(n[:, index])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        assert not torch.allclose(out, attn(n), atol=1e-4)  # it is not the full attention


def test_a_tile_covering_the_whole_map_is_the_identity():
    attn = _attention()
    n = torch.randn(1, 64, 16, generator=torch.Generator().manual_seed(2))
    out, q_shape = _run(attn, n, hypertile_patches(16, 2048, 2, 0, False), [1, 4, 8, 8])
    assert q_shape == n.shape
    with torch.no_grad():
        assert torch.equal(out, attn(n))


def test_only_the_widths_up_to_max_depth_are_tiled():
    n = torch.randn(1, 64, 32)  # width 2 x model_channels 16
    tile_in, tile_out = hypertile_patches(16, 32, 1, 0, False)
    assert tile_in(n, None, None, {"original_shape": [1, 4, 8, 8]})[0] is n
    deeper_in, _ = hypertile_patches(16, 32, 1, 1, False)
    assert deeper_in(n, None, None, {"original_shape": [1, 4, 8, 8]})[0].shape == (4, 16, 32)
    # scale_depth doubles the tile at 2x width: 8-token tiles cover the 8x8 map
    scaled_in, _ = hypertile_patches(16, 32, 1, 1, True)
    assert scaled_in(n, None, None, {"original_shape": [1, 4, 8, 8]})[0].shape == (1, 64, 32)


@pytest.mark.parametrize("swap_size", [1, 3])
def test_the_output_patch_undoes_exactly_what_the_input_patch_did(swap_size):
    tile_in, tile_out = hypertile_patches(8, 32, swap_size, 0, False)
    n = torch.randn(1, 16 * 16, 8)
    for _ in range(4):
        q, _, _ = tile_in(n, None, None, {"original_shape": [1, 4, 16, 16]})
        assert torch.equal(tile_out(q, {}), n)
