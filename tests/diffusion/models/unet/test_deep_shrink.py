"""Deep shrink patches: the block and sigma window, the resize by the factor, the upscale back."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from diffusion.models.unet.deep_shrink import downscale_patch, upscale_patch


def _info(block: int, sigma: float) -> dict:
    return {"block": ("input", block), "sigmas": torch.tensor([sigma, sigma])}


def test_outside_the_block_or_the_window_nothing_changes():
    patch = downscale_patch(3, 2.0, sigma_start=10.0, sigma_end=1.0, method="area")
    h = torch.randn(2, 4, 8, 8)
    assert patch(h, _info(2, 5.0)) is h
    assert patch(h, _info(3, 10.5)) is h
    assert patch(h, _info(3, 0.5)) is h


def test_inside_the_window_the_map_is_resized_by_the_factor():
    h = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    area = downscale_patch(3, 2.0, 10.0, 1.0, "area")
    torch.testing.assert_close(area(h, _info(3, 5.0)), F.avg_pool2d(h, 2))  # area by 2 = 2x2 means
    assert area(h, _info(3, 10.0)).shape == (2, 4, 4, 4)  # both ends of the window are inside
    assert area(h, _info(3, 1.0)).shape == (2, 4, 4, 4)
    nearest = downscale_patch(1, 4.0, 10.0, 1.0, "nearest-exact")
    torch.testing.assert_close(nearest(h, _info(1, 2.0)), h[:, :, 2::4, 2::4])  # pixel centres (i + 0.5) * 4
    odd = downscale_patch(1, 3.0, 10.0, 1.0, "bicubic")
    assert odd(torch.randn(1, 4, 8, 10), _info(1, 2.0)).shape == (1, 4, 3, 3)  # round(8/3), round(10/3)


def test_the_output_patch_brings_the_features_back_to_the_skip_size():
    patch = upscale_patch("nearest-exact")
    h, skip = torch.randn(1, 4, 2, 2), torch.randn(1, 4, 4, 4)
    new_h, new_skip = patch(h, skip, {})
    assert new_skip is skip
    torch.testing.assert_close(new_h, h.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3))
    same = torch.randn(1, 4, 4, 4)
    assert patch(same, skip, {})[0] is same


def test_bad_methods_and_factors_are_refused():
    with pytest.raises(ValueError, match="downscale_method must be one of"):
        downscale_patch(3, 2.0, 1.0, 0.0, "lanczos")
    with pytest.raises(ValueError, match="upscale_method must be one of"):
        upscale_patch("box")
    with pytest.raises(ValueError, match="downscale_factor must be positive"):
        downscale_patch(3, 0.0, 1.0, 0.0, "area")
