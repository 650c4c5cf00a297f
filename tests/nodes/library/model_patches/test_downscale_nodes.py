"""PatchModelAddDownscale on a tiny UNet: identity outside the sigma window, a shrunk block inside it."""

from __future__ import annotations

import pytest
import torch

from diffusion.sampling.discrete import DiscreteSchedule
from nodes.library.model_patches.downscale_patches import PatchModelAddDownscale
from tests.nodes.library.model_patches.patch_fixtures import positive_only, table_sigma, tiny_unet_handle
from tests.nodes.sd_fakes import values

DEFAULTS = {"block_number": 1, "downscale_factor": 2.0, "start_percent": 0.0, "end_percent": 0.35,
            "downscale_after_skip": True, "downscale_method": "bicubic", "upscale_method": "bicubic"}


def _output(handle, sigma):
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    context = torch.randn(1, 3, handle.model.config.context_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        return positive_only(handle, x, sigma, context)


def _spied(patched):
    seen = []
    spy = patched.clone()
    spy.options["input_block_patch_after_skip"] = [*patched.options["input_block_patch_after_skip"],
                                                   lambda h, info: seen.append((info["block"][1], h.shape[-1])) or h]
    return spy, seen


def test_the_window_is_the_schedule_between_the_percents():
    # end_percent 0.35 -> the sigma of timestep 0.65 * 999; the window runs from the largest sigma down to it
    edge = float(DiscreteSchedule().sigma(torch.tensor(0.65 * 999)))
    assert float(table_sigma(900)) > edge > float(table_sigma(100))


def test_outside_the_window_the_model_is_unchanged(make_ctx):
    handle = tiny_unet_handle()
    (patched,) = values(PatchModelAddDownscale, make_ctx(), model=handle, **DEFAULTS)
    spy, seen = _spied(patched)
    torch.testing.assert_close(_output(spy, table_sigma(100)), _output(handle, table_sigma(100)),
                               rtol=1e-6, atol=1e-6)
    assert (1, 8) in seen  # block 1 kept its 8 x 8 map
    assert handle.options == {} and patched.is_clone(handle)


def test_inside_the_window_the_block_map_is_shrunk_by_the_factor(make_ctx):
    handle = tiny_unet_handle()
    (patched,) = values(PatchModelAddDownscale, make_ctx(), model=handle, **DEFAULTS)
    spy, seen = _spied(patched)
    out = _output(spy, table_sigma(900))
    assert (1, 4) in seen and (3, 2) in seen  # 8 -> 4 after block 1, then halved by the downsample
    assert out.shape == (1, 4, 8, 8) and torch.isfinite(out).all()
    assert not torch.allclose(out, _output(handle, table_sigma(900)), atol=1e-5)


def test_before_the_skip_the_patch_goes_to_the_input_block_patches(make_ctx):
    (patched,) = values(PatchModelAddDownscale, make_ctx(), model=tiny_unet_handle(),
                        **{**DEFAULTS, "downscale_after_skip": False})
    assert len(patched.options["input_block_patch"]) == 1 and "input_block_patch_after_skip" not in patched.options
    assert len(patched.options["output_block_patch"]) == 1
    assert _output(patched, table_sigma(900)).shape == (1, 4, 8, 8)


@pytest.mark.parametrize("inputs, message", [
    ({"downscale_method": "lanczos"}, "'downscale_method' must be one of"),
    ({"upscale_method": None}, "'upscale_method' must be one of"),
    ({"downscale_factor": 0.0}, "'downscale_factor' must be between"),
    ({"block_number": 0}, "'block_number' must be between 1 and 32"),
    ({"end_percent": 1.5}, "'end_percent' must be between"),
    ({"downscale_after_skip": 1}, "'downscale_after_skip' must be a boolean"),
])
def test_bad_inputs_are_refused(make_ctx, inputs, message):
    with pytest.raises((TypeError, ValueError), match=f"PatchModelAddDownscale: input {message}"):
        values(PatchModelAddDownscale, make_ctx(), model=tiny_unet_handle(), **{**DEFAULTS, **inputs})
