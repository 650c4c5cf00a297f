"""LATENT nodes: shapes, values, batch bookkeeping, inputs never changed, clear errors, schema facts."""

import math

import pytest
import torch

from diffusion.imaging.names import LATENT_METHODS
from diffusion.imaging.resample import bislerp
from nodes.library.latent.latent_ops import (
    EmptyLatentImage,
    LatentBlend,
    LatentComposite,
    LatentFromBatch,
    LatentUpscale,
    LatentUpscaleBy,
    RepeatLatentBatch,
    SetLatentNoiseMask,
)
from tests.nodes.sd_fakes import schema, values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def latent(batch=1, channels=4, height=8, width=8, seed=0, **extra):
    generator = torch.Generator().manual_seed(seed)
    return {"samples": torch.randn(batch, channels, height, width, generator=generator), **extra}


def copy_latent(value):
    return {k: v.clone() if isinstance(v, torch.Tensor) else list(v) if isinstance(v, list) else v
            for k, v in value.items()}


def assert_unchanged(value, before):
    assert set(value) == set(before)
    for key in value:
        if isinstance(value[key], torch.Tensor):
            assert torch.equal(value[key], before[key]), key
        else:
            assert value[key] == before[key], key


def test_empty_latent_is_zeros_of_an_eighth_of_the_size(ctx):
    (out,) = values(EmptyLatentImage, ctx, width=512, height=768, batch_size=3)
    assert out["samples"].shape == (3, 4, 96, 64) and not out["samples"].any()
    assert out["samples"].dtype == torch.float32 and set(out) == {"samples"}


def test_empty_latent_floors_sizes_that_are_not_multiples_of_8_like_comfyui(ctx):
    (out,) = values(EmptyLatentImage, ctx, width=500, height=260, batch_size=1)
    assert out["samples"].shape == (1, 4, 32, 62)
    with pytest.raises(ValueError, match="EmptyLatentImage: width and height must be at least 8"):
        values(EmptyLatentImage, ctx, width=4, height=64, batch_size=1)


def test_latent_upscale_to_size_keeps_other_keys_and_the_input(ctx):
    mask = torch.ones(1, 1, 64, 64)
    source = latent(height=8, width=16, noise_mask=mask, batch_index=[5])
    before = copy_latent(source)
    (out,) = values(LatentUpscale, ctx, samples=source, upscale_method="bilinear", width=256, height=128,
                    crop="disabled")
    assert out["samples"].shape == (1, 4, 16, 32)
    assert out["noise_mask"] is mask and out["batch_index"] == [5]
    assert_unchanged(source, before)


def test_latent_upscale_zero_side_keeps_aspect_and_minimum_is_64_pixels(ctx):
    source = latent(height=8, width=16)
    (by_width,) = values(LatentUpscale, ctx, samples=source, upscale_method="nearest-exact", width=256, height=0,
                         crop="disabled")
    assert by_width["samples"].shape[2:] == (16, 32)
    (by_height,) = values(LatentUpscale, ctx, samples=source, upscale_method="nearest-exact", width=0, height=256,
                          crop="disabled")
    assert by_height["samples"].shape[2:] == (32, 64)
    (tiny,) = values(LatentUpscale, ctx, samples=source, upscale_method="area", width=8, height=8, crop="disabled")
    assert tiny["samples"].shape[2:] == (8, 8)
    (same,) = values(LatentUpscale, ctx, samples=source, upscale_method="bislerp", width=0, height=0, crop="center")
    assert torch.equal(same["samples"], source["samples"]) and same is not source


def test_latent_upscale_center_crop_takes_the_middle(ctx):
    samples = torch.arange(16, dtype=torch.float32).reshape(1, 1, 1, 16).expand(1, 4, 8, 16).clone()
    (out,) = values(LatentUpscale, ctx, samples={"samples": samples}, upscale_method="nearest-exact", width=64,
                    height=64, crop="center")
    assert out["samples"].shape == (1, 4, 8, 8)
    assert out["samples"][0, 0, 0].tolist() == [float(v) for v in range(4, 12)]


@pytest.mark.parametrize("method", LATENT_METHODS)
def test_every_latent_method_gives_the_requested_size(ctx, method):
    (out,) = values(LatentUpscaleBy, ctx, samples=latent(height=8, width=12), upscale_method=method, scale_by=1.5)
    assert out["samples"].shape == (1, 4, 12, 18)
    assert torch.isfinite(out["samples"]).all()


def test_unknown_method_is_a_clear_error(ctx):
    with pytest.raises(ValueError, match="unknown upscale method 'cubic'"):
        values(LatentUpscaleBy, ctx, samples=latent(), upscale_method="cubic", scale_by=2.0)


def slerp_reference(a, b, t):
    """Textbook slerp of two vectors with linearly interpolated length (ComfyUI's edge cases)."""
    norm_a, norm_b = a.norm(), b.norm()
    unit_a, unit_b = a / norm_a, b / norm_b
    dot = float((unit_a * unit_b).sum())
    if dot > 1 - 1e-5:
        return a
    if dot < 1e-5 - 1:
        return a * (1 - t) + b * t
    omega = math.acos(dot)
    direction = (math.sin((1 - t) * omega) * unit_a + math.sin(t * omega) * unit_b) / math.sin(omega)
    return direction * (norm_a * (1 - t) + norm_b * t)


def resize_axis_reference(samples, new, axis):
    """Slow per-pixel slerp along `axis` (3 = width, 2 = height) with half-pixel centres."""
    old = samples.shape[axis]
    out_shape = list(samples.shape)
    out_shape[axis] = new
    out = torch.empty(out_shape)
    for i in range(new):
        position = min(max((i + 0.5) * old / new - 0.5, 0.0), old - 1)
        low = int(math.floor(position))
        high = min(low + 1, old - 1)
        t = position - low
        for n in range(samples.shape[0]):
            for j in range(samples.shape[5 - axis]):
                if axis == 3:
                    out[n, :, j, i] = slerp_reference(samples[n, :, j, low], samples[n, :, j, high], t)
                else:
                    out[n, :, i, j] = slerp_reference(samples[n, :, low, j], samples[n, :, high, j], t)
    return out


def test_bislerp_matches_a_per_pixel_reference():
    samples = latent(batch=2, height=3, width=5, seed=7)["samples"]
    expected = resize_axis_reference(resize_axis_reference(samples, 8, 3), 6, 2)
    assert torch.allclose(bislerp(samples, 8, 6), expected, atol=1e-5)


def test_bislerp_keeps_a_constant_latent_and_the_same_size():
    constant = torch.tensor([1.0, -2.0, 0.5, 3.0]).reshape(1, 4, 1, 1).expand(1, 4, 5, 7)
    assert torch.allclose(bislerp(constant, 11, 9), constant[:, :, :1, :1].expand(1, 4, 9, 11))
    samples = latent(height=5, width=7)["samples"]
    assert torch.allclose(bislerp(samples, 7, 5), samples)


def test_composite_pastes_at_the_offset_without_feather(ctx):
    to, source = latent(height=8, width=8, seed=1, batch_index=[2]), latent(height=4, width=4, seed=2)
    before_to, before_from = copy_latent(to), copy_latent(source)
    (out,) = values(LatentComposite, ctx, samples_to=to, samples_from=source, x=16, y=24, feather=0)
    expected = to["samples"].clone()
    expected[:, :, 3:7, 2:6] = source["samples"]
    assert torch.equal(out["samples"], expected) and out["batch_index"] == [2]
    assert_unchanged(to, before_to)
    assert_unchanged(source, before_from)


def test_composite_crops_at_the_border_and_ignores_offsets_outside(ctx):
    to, source = latent(height=8, width=8, seed=1), latent(height=4, width=4, seed=2)
    (out,) = values(LatentComposite, ctx, samples_to=to, samples_from=source, x=48, y=0, feather=0)
    assert torch.equal(out["samples"][:, :, 0:4, 6:8], source["samples"][:, :, :, :2])
    (outside,) = values(LatentComposite, ctx, samples_to=to, samples_from=source, x=64, y=0, feather=0)
    assert torch.equal(outside["samples"], to["samples"])


def feather_reference(height, width, feather, top, bottom, left, right):
    """ComfyUI's feather mask built row by row: the t-th line from an inner edge is scaled by (t+1)/feather."""
    mask = torch.ones(height, width)
    for t in range(feather):
        factor = (t + 1) / feather
        if top and t < height:
            mask[t, :] *= factor
        if bottom and t < height:
            mask[height - 1 - t, :] *= factor
        if left and t < width:
            mask[:, t] *= factor
        if right and t < width:
            mask[:, width - 1 - t] *= factor
    return mask


@pytest.mark.parametrize("x, y, edges", [
    (32, 0, (False, True, True, True)),
    (32, 16, (True, True, True, True)),
    (0, 80, (True, False, False, True)),
])
def test_composite_feather_blends_inner_edges_only(ctx, x, y, edges):
    to, source = latent(height=16, width=16, seed=1), latent(height=6, width=8, seed=2)
    (out,) = values(LatentComposite, ctx, samples_to=to, samples_from=source, x=x, y=y, feather=24)
    top, left = y // 8, x // 8
    height, width = min(6, 16 - top), min(8, 16 - left)
    weight = feather_reference(height, width, 3, *edges)
    expected = to["samples"].clone()
    region = (slice(None), slice(None), slice(top, top + height), slice(left, left + width))
    expected[region] = source["samples"][:, :, :height, :width] * weight + to["samples"][region] * (1 - weight)
    assert torch.allclose(out["samples"], expected)
    assert weight[height - 1, width - 1] < 1 and weight.max() == 1.0


def test_composite_refuses_latents_that_do_not_fit_together(ctx):
    with pytest.raises(ValueError, match="samples_to has 4 channels but samples_from has 16"):
        values(LatentComposite, ctx, samples_to=latent(), samples_from=latent(channels=16), x=0, y=0, feather=0)
    with pytest.raises(ValueError, match="samples_from has a batch of 3 but samples_to has 2"):
        values(LatentComposite, ctx, samples_to=latent(batch=2), samples_from=latent(batch=3), x=0, y=0, feather=0)


def test_blend_weights_and_resizes_the_second(ctx):
    first, second = latent(seed=1, batch_index=[0]), latent(seed=2)
    (out,) = values(LatentBlend, ctx, samples1=first, samples2=second, blend_factor=0.25)
    assert torch.allclose(out["samples"], first["samples"] * 0.25 + second["samples"] * 0.75)
    assert out["batch_index"] == [0]
    (resized,) = values(LatentBlend, ctx, samples1=first, samples2=latent(height=16, width=16), blend_factor=0.5)
    assert resized["samples"].shape == first["samples"].shape


def test_repeat_batch_repeats_samples_masks_and_indices(ctx):
    source = latent(batch=2, noise_mask=torch.rand(2, 1, 64, 64), batch_index=[0, 1])
    before = copy_latent(source)
    (out,) = values(RepeatLatentBatch, ctx, samples=source, amount=3)
    assert out["samples"].shape == (6, 4, 8, 8)
    assert torch.equal(out["samples"][4:], source["samples"])
    assert out["noise_mask"].shape == (6, 1, 64, 64) and torch.equal(out["noise_mask"][2:4], source["noise_mask"])
    assert out["batch_index"] == [0, 1, 2, 3, 4, 5]
    assert_unchanged(source, before)
    (single,) = values(RepeatLatentBatch, ctx, samples=latent(batch_index=[3]), amount=3)
    assert single["batch_index"] == [3, 4, 5]
    (plain,) = values(RepeatLatentBatch, ctx, samples=latent(), amount=2)
    assert "batch_index" not in plain


def test_from_batch_records_batch_index_and_clamps(ctx):
    source = latent(batch=4, noise_mask=torch.rand(4, 1, 64, 64))
    before = copy_latent(source)
    (out,) = values(LatentFromBatch, ctx, samples=source, batch_index=1, length=2)
    assert torch.equal(out["samples"], source["samples"][1:3])
    assert torch.equal(out["noise_mask"], source["noise_mask"][1:3])
    assert out["batch_index"] == [1, 2]
    (clamped,) = values(LatentFromBatch, ctx, samples=source, batch_index=10, length=5)
    assert clamped["samples"].shape[0] == 1 and clamped["batch_index"] == [3]
    (chained,) = values(LatentFromBatch, ctx, samples=out, batch_index=1, length=1)
    assert chained["batch_index"] == [2]
    assert_unchanged(source, before)


def test_set_noise_mask_stores_a_batch_channel_mask_and_leaves_the_input(ctx):
    source = latent()
    (out,) = values(SetLatentNoiseMask, ctx, samples=source, mask=torch.ones(32, 48))
    assert out["noise_mask"].shape == (1, 1, 32, 48)
    assert out["samples"] is source["samples"] and "noise_mask" not in source
    (batched,) = values(SetLatentNoiseMask, ctx, samples=source, mask=torch.ones(2, 64, 64))
    assert batched["noise_mask"].shape == (2, 1, 64, 64)
    with pytest.raises(ValueError, match="SetLatentNoiseMask: mask must be a MASK tensor"):
        values(SetLatentNoiseMask, ctx, samples=source, mask=torch.ones(5))


@pytest.mark.parametrize("bad, message", [
    ("latent", "must be a LATENT dict with 'samples', got str"),
    ({"noise_mask": torch.ones(1)}, "must be a LATENT dict"),
    ({"samples": torch.zeros(4, 8, 8)}, "must hold samples of shape .* got \\(4, 8, 8\\)"),
])
def test_malformed_latents_are_named(ctx, bad, message):
    with pytest.raises((TypeError, ValueError), match=f"LatentUpscaleBy: input 'samples' {message}"):
        values(LatentUpscaleBy, ctx, samples=bad, upscale_method="bilinear", scale_by=2.0)


def test_schemas_match_comfyui():
    empty = schema(EmptyLatentImage)
    assert [(i.name, i.options["default"], i.options["min"], i.options.get("step")) for i in empty.inputs] == [
        ("width", 512, 16, 8), ("height", 512, 16, 8), ("batch_size", 1, 1, None)]
    assert empty.output_types == ("LATENT",)
    upscale = schema(LatentUpscale)
    assert [i.name for i in upscale.inputs] == ["samples", "upscale_method", "width", "height", "crop"]
    assert upscale.input("upscale_method").choices == ("nearest-exact", "bilinear", "area", "bicubic", "bislerp")
    assert upscale.input("crop").choices == ("disabled", "center")
    assert dict(schema(LatentUpscaleBy).input("scale_by").options) == {"default": 1.5, "min": 0.01, "max": 8.0,
                                                                       "step": 0.01}
    composite = schema(LatentComposite)
    assert [i.name for i in composite.inputs] == ["samples_to", "samples_from", "x", "y", "feather"]
    batch = schema(LatentFromBatch)
    assert [(i.name, i.options.get("max")) for i in batch.inputs[1:]] == [("batch_index", 63), ("length", 64)]
    assert schema(SetLatentNoiseMask).category == "latent/inpaint"
