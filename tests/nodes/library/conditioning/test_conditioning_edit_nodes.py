"""CONDITIONING nodes: values as ComfyUI computes them, inputs never changed, clear errors, schema facts."""

import pytest
import torch

from nodes.library.conditioning.edit import (
    ConditioningAverage,
    ConditioningCombine,
    ConditioningConcat,
    ConditioningSetArea,
    ConditioningSetAreaPercentage,
    ConditioningSetAreaStrength,
    ConditioningSetMask,
    ConditioningSetTimestepRange,
    ConditioningZeroOut,
)
from tests.nodes.sd_fakes import conditioning, same_conditioning, schema, snapshot, values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def test_combine_concatenates_lists_without_touching_them(ctx):
    a, b = conditioning(seed=1), conditioning(seed=2) + conditioning(seed=3)
    a_before, b_before = snapshot(a), snapshot(b)
    (out,) = values(ConditioningCombine, ctx, conditioning_1=a, conditioning_2=b)
    assert len(out) == 3
    assert out[0][0] is a[0][0] and out[1][0] is b[0][0] and out[2][0] is b[1][0]
    assert out is not a and out is not b
    assert same_conditioning(a, a_before) and same_conditioning(b, b_before) and len(b) == 2


def test_concat_appends_the_first_from_entry_on_the_token_axis(ctx):
    to = conditioning(seed=1) + conditioning(seed=2)
    source = conditioning(tokens=154, seed=3) + conditioning(seed=4)
    before = snapshot(to)
    (out,) = values(ConditioningConcat, ctx, conditioning_to=to, conditioning_from=source)
    assert len(out) == 2
    for (tensor, options), (original, original_options) in zip(out, to, strict=True):
        assert tensor.shape == (1, 77 + 154, 768)
        assert torch.equal(tensor[:, :77], original) and torch.equal(tensor[:, 77:], source[0][0])
        assert options == original_options and options is not original_options
    assert same_conditioning(to, before)


def test_average_mixes_tokens_and_pooled_outputs(ctx):
    to, source = conditioning(seed=1), conditioning(seed=2)
    before = snapshot(to)
    (out,) = values(ConditioningAverage, ctx, conditioning_to=to, conditioning_from=source,
                    conditioning_to_strength=0.25)
    tensor, options = out[0]
    assert torch.allclose(tensor, to[0][0] * 0.25 + source[0][0] * 0.75)
    assert torch.allclose(options["pooled_output"], to[0][1]["pooled_output"] * 0.25
                          + source[0][1]["pooled_output"] * 0.75)
    assert same_conditioning(to, before)


def test_average_pads_a_short_from_with_zeros_and_cuts_a_long_one(ctx):
    to = conditioning(tokens=154, seed=1)
    short = conditioning(tokens=77, seed=2)
    (out,) = values(ConditioningAverage, ctx, conditioning_to=to, conditioning_from=short,
                    conditioning_to_strength=0.5)
    tensor = out[0][0]
    assert tensor.shape == (1, 154, 768)
    assert torch.allclose(tensor[:, 77:], to[0][0][:, 77:] * 0.5)
    long_to = conditioning(tokens=77, seed=3)
    (cut,) = values(ConditioningAverage, ctx, conditioning_to=long_to, conditioning_from=to,
                    conditioning_to_strength=0.5)
    assert torch.allclose(cut[0][0], long_to[0][0] * 0.5 + to[0][0][:, :77] * 0.5)


def test_average_takes_from_pooled_when_to_has_none(ctx):
    to, source = conditioning(pooled=False, seed=1), conditioning(seed=2)
    (out,) = values(ConditioningAverage, ctx, conditioning_to=to, conditioning_from=source,
                    conditioning_to_strength=0.3)
    assert torch.allclose(out[0][1]["pooled_output"], source[0][1]["pooled_output"])
    assert "pooled_output" not in to[0][1]


def test_set_area_stores_latent_units_and_copies_dicts(ctx):
    cond = conditioning(seed=1)
    before = snapshot(cond)
    (out,) = values(ConditioningSetArea, ctx, conditioning=cond, width=256, height=192, x=64, y=32, strength=0.7)
    options = out[0][1]
    assert options["area"] == (24, 32, 4, 8)
    assert options["strength"] == 0.7 and options["set_area_to_bounds"] is False
    assert out[0][0] is cond[0][0] and "pooled_output" in options
    assert same_conditioning(cond, before) and "area" not in cond[0][1]


def test_set_area_percentage_and_strength(ctx):
    cond = conditioning(seed=1)
    (out,) = values(ConditioningSetAreaPercentage, ctx, conditioning=cond, width=0.5, height=0.25, x=0.1, y=0.2,
                    strength=2.0)
    assert out[0][1]["area"] == ("percentage", 0.25, 0.5, 0.2, 0.1)
    assert out[0][1]["strength"] == 2.0 and out[0][1]["set_area_to_bounds"] is False
    (again,) = values(ConditioningSetAreaStrength, ctx, conditioning=out, strength=3.0)
    assert again[0][1]["strength"] == 3.0 and again[0][1]["area"] == out[0][1]["area"]
    assert out[0][1]["strength"] == 2.0


def test_set_mask_adds_a_batch_dimension_and_flags(ctx):
    cond = conditioning(seed=1)
    mask = torch.rand(64, 48)
    (out,) = values(ConditioningSetMask, ctx, conditioning=cond, mask=mask, strength=0.8, set_cond_area="mask bounds")
    options = out[0][1]
    assert options["mask"].shape == (1, 64, 48) and torch.equal(options["mask"][0], mask)
    assert options["mask_strength"] == 0.8 and options["set_area_to_bounds"] is True
    (default,) = values(ConditioningSetMask, ctx, conditioning=cond, mask=mask[None], strength=1.0,
                        set_cond_area="default")
    assert default[0][1]["set_area_to_bounds"] is False
    assert "mask" not in cond[0][1] and mask.shape == (64, 48)


def test_set_mask_refuses_something_that_is_not_a_mask(ctx):
    with pytest.raises(ValueError, match="ConditioningSetMask: mask must be a MASK"):
        values(ConditioningSetMask, ctx, conditioning=conditioning(), mask=torch.rand(1, 1, 8, 8), strength=1.0,
               set_cond_area="default")


def test_zero_out_zeros_tensor_and_pooled_only_in_the_output(ctx):
    cond = conditioning(seed=1, extra_key="kept")
    before = snapshot(cond)
    (out,) = values(ConditioningZeroOut, ctx, conditioning=cond)
    tensor, options = out[0]
    assert tensor.shape == cond[0][0].shape and not tensor.any()
    assert not options["pooled_output"].any() and options["extra_key"] == "kept"
    assert same_conditioning(cond, before)
    (no_pooled,) = values(ConditioningZeroOut, ctx, conditioning=conditioning(pooled=False))
    assert "pooled_output" not in no_pooled[0][1]


def test_timestep_range_stores_schedule_fractions(ctx):
    cond = conditioning(seed=1)
    (out,) = values(ConditioningSetTimestepRange, ctx, conditioning=cond, start=0.2, end=0.8)
    assert out[0][1]["start_percent"] == 0.2 and out[0][1]["end_percent"] == 0.8
    assert "start_percent" not in cond[0][1]


@pytest.mark.parametrize("bad, message", [
    ("text", "must be a CONDITIONING list"),
    ([torch.zeros(1, 77, 768)], "entry 0 is not a \\[tensor, dict\\] pair"),
    ([[torch.zeros(1, 77, 768), "options"]], "entry 0 is not a \\[tensor, dict\\] pair"),
])
def test_malformed_conditioning_is_named(ctx, bad, message):
    with pytest.raises((TypeError, ValueError), match=f"ConditioningSetArea: input 'conditioning'.*{message}"):
        values(ConditioningSetArea, ctx, conditioning=bad, width=64, height=64, x=0, y=0, strength=1.0)


def test_token_arithmetic_needs_batch_token_feature_tensors(ctx):
    flat = [[torch.zeros(77, 768), {}]]
    with pytest.raises(ValueError, match="ConditioningConcat: input 'conditioning_to' entry 0 .* expected "
                                         "\\[batch, tokens, features\\]"):
        values(ConditioningConcat, ctx, conditioning_to=flat, conditioning_from=conditioning())
    (combined,) = values(ConditioningCombine, ctx, conditioning_1=flat, conditioning_2=flat)
    assert len(combined) == 2  # list operations accept any tensor shape (other model families)


def test_empty_from_and_mismatched_encoders_are_clear_errors(ctx):
    with pytest.raises(ValueError, match="conditioning_from' is an empty CONDITIONING"):
        values(ConditioningConcat, ctx, conditioning_to=conditioning(), conditioning_from=[])
    with pytest.raises(ValueError, match="768 features per token but conditioning_from has 1024"):
        values(ConditioningAverage, ctx, conditioning_to=conditioning(), conditioning_from=conditioning(dim=1024),
               conditioning_to_strength=0.5)
    with pytest.raises(ValueError, match="batch sizes 2 and 3"):
        values(ConditioningConcat, ctx, conditioning_to=conditioning(batch=2), conditioning_from=conditioning(batch=3))


def test_schemas_match_comfyui():
    area = schema(ConditioningSetArea)
    assert [i.name for i in area.inputs] == ["conditioning", "width", "height", "x", "y", "strength"]
    assert dict(area.input("width").options) == {"default": 64, "min": 64, "max": 16384, "step": 8}
    assert area.output_types == ("CONDITIONING",)
    mask = schema(ConditioningSetMask)
    assert [i.name for i in mask.inputs] == ["conditioning", "mask", "strength", "set_cond_area"]
    assert mask.input("set_cond_area").choices == ("default", "mask bounds")
    average = schema(ConditioningAverage)
    assert dict(average.input("conditioning_to_strength").options) == {"default": 1.0, "min": 0.0, "max": 1.0,
                                                                       "step": 0.01}
    timestep = schema(ConditioningSetTimestepRange)
    assert [(i.name, i.options["default"]) for i in timestep.inputs[1:]] == [("start", 0.0), ("end", 1.0)]
    assert timestep.category == "advanced/conditioning"
    assert schema(ConditioningCombine).display_name == "Conditioning (Combine)"
