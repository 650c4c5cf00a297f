"""LATENT arithmetic, batching and slicing nodes: hand-worked values, ComfyUI's fitting rules, clear errors."""

import math

import pytest
import torch

from diffusion.imaging.resample import resize
from nodes.library.latent.latent_math import (
    LatentAdd,
    LatentBatch,
    LatentBatchSeedBehavior,
    LatentInterpolate,
    LatentMultiply,
    LatentSubtract,
)
from nodes.library.latent.latent_slicing import LatentConcat, LatentCut, LatentCutToBatch
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def counting(batch=1, channels=4, height=2, width=3, start=0.0, **extra):
    """A latent whose samples are start, start+1, ... in memory order."""
    count = batch * channels * height * width
    samples = torch.arange(count, dtype=torch.float32).reshape(batch, channels, height, width) + start
    return {"samples": samples, **extra}


def test_add_subtract_multiply_are_exact_and_keep_the_first_latents_keys(ctx):
    mask = torch.ones(1, 1, 16, 24)
    first = counting(noise_mask=mask, batch_index=[3])
    second = counting(start=0.5)
    before = first["samples"].clone()
    (added,) = values(LatentAdd, ctx, samples1=first, samples2=second)
    (subtracted,) = values(LatentSubtract, ctx, samples1=first, samples2=second)
    (scaled,) = values(LatentMultiply, ctx, samples=first, multiplier=-2.5)
    expected_sum = torch.arange(24, dtype=torch.float32).reshape(1, 4, 2, 3) * 2 + 0.5
    assert torch.equal(added["samples"], expected_sum)
    assert torch.equal(subtracted["samples"], torch.full((1, 4, 2, 3), -0.5))
    assert torch.equal(scaled["samples"], before * -2.5)
    for out in (added, subtracted, scaled):
        assert out["noise_mask"] is mask and out["batch_index"] == [3]
    assert torch.equal(first["samples"], before) and set(first) == {"samples", "noise_mask", "batch_index"}


def test_add_repeats_or_cuts_the_second_batch_to_the_first_like_comfyui(ctx):
    first = counting(batch=3)
    one = {"samples": torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1, 1).expand(1, 4, 2, 3).clone()}
    (out,) = values(LatentAdd, ctx, samples1=first, samples2=one)
    assert torch.equal(out["samples"], first["samples"] + one["samples"])
    (cut,) = values(LatentSubtract, ctx, samples1=counting(batch=1), samples2=counting(batch=3, start=1.0))
    assert torch.equal(cut["samples"], torch.full((1, 4, 2, 3), -1.0))
    two = {"samples": torch.stack([torch.full((4, 2, 3), 10.0), torch.full((4, 2, 3), 20.0)])}
    (cycled,) = values(LatentAdd, ctx, samples1={"samples": torch.zeros(3, 4, 2, 3)}, samples2=two)
    assert [float(cycled["samples"][i, 0, 0, 0]) for i in range(3)] == [10.0, 20.0, 10.0]


def test_add_resizes_a_second_latent_of_another_size_to_the_first_like_comfyui(ctx):
    first = counting(height=4, width=4)
    second = {"samples": torch.randn(1, 4, 8, 12, generator=torch.Generator().manual_seed(1))}
    (out,) = values(LatentAdd, ctx, samples1=first, samples2=second)
    fitted = resize(second["samples"], 4, 4, "bilinear", "center")
    assert out["samples"].shape == (1, 4, 4, 4)
    assert torch.equal(out["samples"], first["samples"] + fitted)


def test_combining_latents_of_different_channel_counts_is_a_clear_error(ctx):
    for node in (LatentAdd, LatentSubtract, LatentInterpolate, LatentBatch):
        extra = {"ratio": 0.5} if node is LatentInterpolate else {}
        with pytest.raises(ValueError, match=f"{node.node_id}: samples1 has 4 channels but samples2 has 16"):
            values(node, ctx, samples1=counting(), samples2=counting(channels=16), **extra)
    with pytest.raises(TypeError, match="LatentAdd: input 'samples2' must be a LATENT dict"):
        values(LatentAdd, ctx, samples1=counting(), samples2=torch.zeros(1, 4, 2, 3))
    with pytest.raises(ValueError, match="LatentMultiply: input 'samples' must hold samples of shape"):
        values(LatentMultiply, ctx, samples={"samples": torch.zeros(4, 2, 3)}, multiplier=1.0)


def test_interpolate_blends_directions_and_lengths_ratio_1_is_samples1(ctx):
    # Pixel (0, 0): (3, 4) of length 5 against (0, 2) of length 2; pixel (0, 1): zero against (1, 0).
    first = {"samples": torch.tensor([[[[3.0, 0.0]], [[4.0, 0.0]]]])}
    second = {"samples": torch.tensor([[[[0.0, 1.0]], [[2.0, 0.0]]]])}
    (at_one,) = values(LatentInterpolate, ctx, samples1=first, samples2=second, ratio=1.0)
    (at_zero,) = values(LatentInterpolate, ctx, samples1=first, samples2=second, ratio=0.0)
    assert torch.allclose(at_one["samples"], first["samples"])
    assert torch.allclose(at_zero["samples"], second["samples"])
    (half,) = values(LatentInterpolate, ctx, samples1=first, samples2=second, ratio=0.5)
    # Directions (0.6, 0.8) and (0, 1) average to (0.3, 0.9), renormalised; length (5 + 2) / 2 = 3.5.
    direction = torch.tensor([0.3, 0.9]) / math.hypot(0.3, 0.9)
    assert torch.allclose(half["samples"][0, :, 0, 0], direction * 3.5)
    # A zero vector has no direction: the other one's is kept, with half its length.
    assert torch.allclose(half["samples"][0, :, 0, 1], torch.tensor([0.5, 0.0]))


def test_latent_batch_appends_resizes_and_joins_batch_indices(ctx):
    mask = torch.zeros(2, 1, 16, 24)
    first = counting(batch=2, noise_mask=mask)
    second = {"samples": torch.ones(1, 4, 4, 6), "batch_index": [7]}
    (out,) = values(LatentBatch, ctx, samples1=first, samples2=second)
    assert out["samples"].shape == (3, 4, 2, 3)
    assert torch.equal(out["samples"][:2], first["samples"])
    assert torch.allclose(out["samples"][2], torch.ones(4, 2, 3))
    assert out["batch_index"] == [0, 1, 7]
    assert out["noise_mask"] is mask  # ComfyUI carries the first latent's mask unchanged


def test_seed_behavior_fixed_repeats_the_first_index_and_random_removes_it(ctx):
    (fixed,) = values(LatentBatchSeedBehavior, ctx, samples=counting(batch=3, batch_index=[4, 5, 6]),
                      seed_behavior="fixed")
    assert fixed["batch_index"] == [4, 4, 4]
    (fixed_plain,) = values(LatentBatchSeedBehavior, ctx, samples=counting(batch=2), seed_behavior="fixed")
    assert fixed_plain["batch_index"] == [0, 0]
    source = counting(batch=2, batch_index=[1, 2])
    (random,) = values(LatentBatchSeedBehavior, ctx, samples=source, seed_behavior="random")
    assert "batch_index" not in random and source["batch_index"] == [1, 2]
    with pytest.raises(ValueError, match="LatentBatchSeedBehavior: seed_behavior must be one of"):
        values(LatentBatchSeedBehavior, ctx, samples=source, seed_behavior="sometimes")


def test_concat_joins_along_x_and_y_in_either_order(ctx):
    first, second = counting(), counting(start=100.0)
    (along_x,) = values(LatentConcat, ctx, samples1=first, samples2=second, dim="x")
    assert along_x["samples"].shape == (1, 4, 2, 6)
    assert torch.equal(along_x["samples"][..., :3], first["samples"])
    (before_y,) = values(LatentConcat, ctx, samples1=first, samples2=second, dim="-y")
    assert before_y["samples"].shape == (1, 4, 4, 3)
    assert torch.equal(before_y["samples"][:, :, :2], second["samples"])
    assert torch.equal(before_y["samples"][:, :, 2:], first["samples"])


def test_concat_refuses_unmatched_sides_and_t_on_an_image_latent(ctx):
    with pytest.raises(ValueError, match="LatentConcat: samples2 of shape .* cannot be joined"):
        values(LatentConcat, ctx, samples1=counting(), samples2=counting(height=3), dim="x")
    with pytest.raises(ValueError, match="LatentConcat: dim 't' needs a video latent"):
        values(LatentConcat, ctx, samples1=counting(), samples2=counting(), dim="t")
    video = {"samples": torch.zeros(1, 4, 2, 2, 3)}
    (frames,) = values(LatentConcat, ctx, samples1=video, samples2=video, dim="t")
    assert frames["samples"].shape == (1, 4, 4, 2, 3)


def test_cut_clamps_like_comfyui_and_counts_negative_indices_from_the_end(ctx):
    source = counting()  # width 3: columns 0, 1, 2
    (middle,) = values(LatentCut, ctx, samples=source, dim="x", index=1, amount=1)
    assert torch.equal(middle["samples"], source["samples"][..., 1:2])
    (past_end,) = values(LatentCut, ctx, samples=source, dim="x", index=10, amount=5)
    assert torch.equal(past_end["samples"], source["samples"][..., 2:3])
    (last_two,) = values(LatentCut, ctx, samples=source, dim="x", index=-2, amount=9)
    assert torch.equal(last_two["samples"], source["samples"][..., 1:3])
    (row,) = values(LatentCut, ctx, samples=source, dim="y", index=-9, amount=1)
    assert torch.equal(row["samples"], source["samples"][:, :, 0:1])
    with pytest.raises(ValueError, match="LatentCut: dim 't' needs a video latent"):
        values(LatentCut, ctx, samples=source, dim="t", index=0, amount=1)


def test_cut_to_batch_stacks_slices_and_drops_the_rest(ctx):
    source = counting(batch=2, height=2, width=5)
    (columns,) = values(LatentCutToBatch, ctx, samples=source, dim="x", slice_size=2)
    assert columns["samples"].shape == (4, 4, 2, 2)
    expected = [source["samples"][b, :, :, s:s + 2] for b in range(2) for s in (0, 2)]
    assert torch.equal(columns["samples"], torch.stack(expected))
    (rows,) = values(LatentCutToBatch, ctx, samples=source, dim="y", slice_size=5)
    assert torch.equal(rows["samples"], source["samples"])
    (unchanged,) = values(LatentCutToBatch, ctx, samples=source, dim="t", slice_size=1)
    assert unchanged["samples"] is source["samples"]
