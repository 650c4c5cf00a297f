"""Token merging: the 2x2 destinations, merge/unmerge on hand-built tokens, ratio 0 and the resolution rule."""

from __future__ import annotations

import pytest
import torch

from diffusion.models.unet.tome import bipartite_soft_matching, destination_mask, merge_functions, tome_patches


def _regions(scales: torch.Tensor) -> torch.Tensor:
    """A 4x4 grid [1, 16, 4] whose 2x2 region i holds one-hot direction i, times `scales` per token."""
    tokens = torch.zeros(4, 4, 4)
    for i, (top, left) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        tokens[top:top + 2, left:left + 2, i] = 1.0
    return (tokens.reshape(1, 16, 4) * scales.reshape(1, 16, 1))


def test_one_destination_per_2x2_region():
    mask = destination_mask(4, 6, torch.Generator().manual_seed(0)).reshape(4, 6)
    assert mask.sum() == 6
    for top in (0, 2):
        for left in (0, 2, 4):
            assert mask[top:top + 2, left:left + 2].sum() == 1
    assert destination_mask(3, 3).reshape(3, 3).tolist() == [[True, False, False], [False, False, False],
                                                              [False, False, False]]


def test_merging_every_source_of_identical_regions_round_trips_exactly():
    tokens = _regions(torch.ones(16))
    merge, unmerge = bipartite_soft_matching(tokens, 4, 4, 12, torch.Generator().manual_seed(3))
    merged = merge(tokens)
    assert merged.shape == (1, 4, 4)
    assert sorted(merged[0].argmax(dim=-1).tolist()) == [0, 1, 2, 3]
    assert torch.equal(unmerge(merged), tokens)


def test_a_merged_destination_is_the_mean_of_its_region():
    scales = torch.arange(1.0, 17.0)
    tokens = _regions(scales)
    merge, unmerge = bipartite_soft_matching(tokens, 4, 4, 12)
    restored = unmerge(merge(tokens))
    grid = scales.reshape(4, 4)
    for i, (top, left) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        mean = grid[top:top + 2, left:left + 2].mean()
        for row in range(top, top + 2):
            for col in range(left, left + 2):
                expected = torch.zeros(4)
                expected[i] = mean
                torch.testing.assert_close(restored[0, row * 4 + col], expected)


def test_only_the_most_similar_sources_are_merged():
    tokens = _regions(torch.ones(16))
    tokens[0, 1] = torch.tensor([1.0, 1.0, 0.0, 0.0])  # half like region 0, half like region 1
    merge, unmerge = bipartite_soft_matching(tokens, 4, 4, 11)  # top-left destinations, 12 sources
    merged = merge(tokens)
    assert merged.shape == (1, 5, 4)
    torch.testing.assert_close(merged[0, 0], torch.tensor([1.0, 1.0, 0.0, 0.0]))  # the one kept source
    restored = unmerge(merged)
    torch.testing.assert_close(restored, tokens)


def test_ratio_zero_and_lower_resolutions_are_the_identity():
    x = torch.randn(1, 64, 8)
    merge, unmerge = merge_functions(x, 0.0, [1, 4, 8, 8])
    assert merge(x) is x and unmerge(x) is x
    low = torch.randn(1, 16, 8)  # 4x4 tokens of an 8x8 latent: not full resolution
    merge, _ = merge_functions(low, 0.5, [1, 4, 8, 8])
    assert merge(low) is low
    merge, _ = merge_functions(x, 0.5, [1, 4, 8, 8])
    assert merge(x).shape == (1, 32, 8)


def test_the_patches_merge_the_queries_and_keep_the_keys():
    merge_in, unmerge_out = tome_patches(0.5)
    n = torch.randn(2, 64, 8)
    q, keys, values = merge_in(n, None, None, {"original_shape": [2, 4, 8, 8]})
    assert q.shape == (2, 32, 8) and keys is n and values is n
    assert unmerge_out(q, {}).shape == n.shape


def test_a_grid_that_does_not_match_the_tokens_is_refused():
    with pytest.raises(ValueError, match="do not form a 4 x 5 grid"):
        bipartite_soft_matching(torch.randn(1, 16, 4), 4, 5, 3)
