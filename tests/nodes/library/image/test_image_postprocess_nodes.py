"""ImageBlend, ImageBlur, ImageSharpen, ImageQuantize: hand-worked values, unchanged inputs, clear errors."""

import math

import pytest
import torch

from nodes.library.image.filters import bayer_matrix, gaussian_kernel
from nodes.library.image.postprocess import ImageBlend, ImageBlur, ImageQuantize, ImageSharpen
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def constant(value: float, height: int = 4, width: int = 4, channels: int = 3) -> torch.Tensor:
    return torch.full((1, height, width, channels), value)


def soft_light_lift(x: float) -> float:
    return ((16 * x - 12) * x + 4) * x if x <= 0.25 else math.sqrt(x)


@pytest.mark.parametrize("mode, a, b, expected", [
    ("normal", 0.2, 0.6, 0.6),
    ("multiply", 0.5, 0.6, 0.3),
    ("screen", 0.5, 0.6, 1 - 0.5 * 0.4),
    ("overlay", 0.25, 0.6, 2 * 0.25 * 0.6),
    ("overlay", 0.75, 0.6, 1 - 2 * 0.25 * 0.4),
    ("soft_light", 0.2, 0.3, 0.2 - (1 - 0.6) * 0.2 * 0.8),
    ("soft_light", 0.2, 0.8, 0.2 + 0.6 * (soft_light_lift(0.2) - 0.2)),
    ("soft_light", 0.64, 0.8, 0.64 + 0.6 * (0.8 - 0.64)),
    ("difference", 0.7, 0.2, 0.5),
    ("difference", 0.2, 0.7, 0.0),  # ComfyUI's image1 - image2, clamped: not |a - b|
])
def test_blend_modes_on_constants_at_full_factor(ctx, mode, a, b, expected):
    (out,) = values(ImageBlend, ctx, image1=constant(a), image2=constant(b), blend_factor=1.0, blend_mode=mode)
    assert torch.allclose(out, torch.full_like(out, expected), atol=1e-6)


def test_blend_factor_mixes_with_image1_and_inputs_stay(ctx):
    first, second = constant(0.2), constant(0.6)
    (out,) = values(ImageBlend, ctx, image1=first, image2=second, blend_factor=0.25, blend_mode="multiply")
    assert torch.allclose(out, torch.full_like(out, 0.2 * 0.75 + 0.12 * 0.25))
    assert torch.equal(first, constant(0.2)) and torch.equal(second, constant(0.6))
    (out,) = values(ImageBlend, ctx, image1=first, image2=second, blend_factor=0.0, blend_mode="screen")
    assert torch.allclose(out, first)


def test_blend_resizes_image2_to_image1(ctx):
    (out,) = values(ImageBlend, ctx, image1=constant(0.5, 4, 6), image2=constant(1.0, 8, 8), blend_factor=1.0,
                    blend_mode="multiply")
    assert out.shape == (1, 4, 6, 3) and torch.allclose(out, torch.full_like(out, 0.5), atol=1e-5)


def test_blend_refuses_bad_input(ctx):
    with pytest.raises(ValueError, match="ImageBlend.*blend_mode"):
        values(ImageBlend, ctx, image1=constant(0.5), image2=constant(0.5), blend_factor=0.5, blend_mode="darken")
    with pytest.raises(ValueError, match="ImageBlend.*blend_factor"):
        values(ImageBlend, ctx, image1=constant(0.5), image2=constant(0.5), blend_factor=1.5, blend_mode="normal")
    with pytest.raises(ValueError, match="ImageBlend.*channels"):
        values(ImageBlend, ctx, image1=constant(0.5), image2=constant(0.5, channels=4), blend_factor=0.5,
               blend_mode="normal")
    with pytest.raises(TypeError, match="ImageBlend.*image2"):
        values(ImageBlend, ctx, image1=constant(0.5), image2="picture", blend_factor=0.5, blend_mode="normal")


def test_blur_of_a_constant_is_constant(ctx):
    (out,) = values(ImageBlur, ctx, image=constant(0.3, 9, 9), blur_radius=3, sigma=0.7)
    assert torch.allclose(out, torch.full_like(out, 0.3), atol=1e-6)


def test_blur_of_a_delta_is_the_normalised_gaussian(ctx):
    delta = torch.zeros(1, 9, 9, 1)
    delta[0, 4, 4, 0] = 1.0
    (out,) = values(ImageBlur, ctx, image=delta, blur_radius=2, sigma=1.0)
    # ComfyUI's kernel: a 5x5 grid from -1 to 1, weights exp(-d² / 2), normalised.
    grid = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])
    weights = torch.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / 2)
    expected = torch.zeros(9, 9)
    expected[2:7, 2:7] = weights / weights.sum()
    assert torch.allclose(out[0, :, :, 0], expected, atol=1e-6)
    assert math.isclose(out.sum().item(), 1.0, rel_tol=1e-5)


def test_blur_mirrors_the_border(ctx):
    image = torch.zeros(1, 5, 5, 1)
    image[0, 1, 2, 0] = 1.0  # next to the top edge: its mirror image sits above row 0
    (out,) = values(ImageBlur, ctx, image=image, blur_radius=1, sigma=1.0)
    kernel = gaussian_kernel(3, 1.0)
    assert torch.isclose(out[0, 0, 2, 0], 2 * kernel[0, 1])
    assert torch.isclose(out[0, 1, 2, 0], kernel[1, 1])


def test_blur_refuses_bad_input(ctx):
    with pytest.raises(ValueError, match="ImageBlur.*blur_radius.*smaller"):
        values(ImageBlur, ctx, image=constant(0.3, 3, 3), blur_radius=3, sigma=1.0)
    with pytest.raises(ValueError, match="ImageBlur.*sigma"):
        values(ImageBlur, ctx, image=constant(0.3), blur_radius=1, sigma=0.0)
    with pytest.raises(ValueError, match="ImageBlur.*image"):
        values(ImageBlur, ctx, image=torch.zeros(4, 4, 3), blur_radius=1, sigma=1.0)


def test_sharpen_of_a_constant_is_constant(ctx):
    (out,) = values(ImageSharpen, ctx, image=constant(0.4, 8, 8), sharpen_radius=2, sigma=1.0, alpha=3.0)
    assert torch.allclose(out, torch.full_like(out, 0.4), atol=1e-5)


def test_sharpen_raises_a_dot_above_its_surroundings(ctx):
    image = torch.full((1, 7, 7, 1), 0.5)
    image[0, 3, 3, 0] = 0.6
    (out,) = values(ImageSharpen, ctx, image=image, sharpen_radius=1, sigma=1.0, alpha=0.1)
    # kernel = -g·(10·alpha) with the centre raised by sum + 1: the dot gains 0.1 · (1 + g_sum - g_centre).
    kernel = gaussian_kernel(3, 1.0)
    centre = 1 + (kernel.sum() - kernel[1, 1]) * 1.0
    assert math.isclose(out[0, 3, 3, 0].item(), 0.5 + 0.1 * centre.item(), abs_tol=1e-5)
    assert math.isclose(out[0, 2, 3, 0].item(), 0.5 - 0.1 * kernel[0, 1].item(), abs_tol=1e-5)
    assert math.isclose(out[0, 0, 0, 0].item(), 0.5, abs_tol=1e-6)


def test_sharpen_refuses_bad_alpha(ctx):
    with pytest.raises(ValueError, match="ImageSharpen.*alpha"):
        values(ImageSharpen, ctx, image=constant(0.4), sharpen_radius=1, sigma=1.0, alpha=-1.0)


def two_colour_picture() -> torch.Tensor:
    image = torch.zeros(1, 8, 8, 3)
    image[:, :, :4] = torch.tensor([1.0, 0.0, 0.0])
    image[:, :, 4:] = torch.tensor([0.0, 0.0, 1.0])
    return image


@pytest.mark.parametrize("dither", ["none", "floyd-steinberg", "bayer-2", "bayer-16"])
def test_quantize_two_colours_keeps_a_two_colour_picture(ctx, dither):
    image = two_colour_picture()
    (out,) = values(ImageQuantize, ctx, image=image, colors=2, dither=dither)
    assert torch.equal(out, image)


def test_quantize_to_two_colours_of_a_grey_ramp(ctx):
    ramp = torch.linspace(0, 1, 16).view(1, 1, 16, 1).expand(1, 4, 16, 3).contiguous()
    (out,) = values(ImageQuantize, ctx, image=ramp, colors=2, dither="none")
    levels = torch.unique(out)
    assert len(levels) == 2 and levels[0] < 0.5 < levels[1]
    assert torch.all(out[0, :, :8] == levels[0]) and torch.all(out[0, :, 8:] == levels[1])


def test_bayer_matrix_is_the_classic_ordered_pattern():
    # (index + 0.5) / 4 - 0.5 for the 2x2 Bayer indices [[0, 2], [3, 1]].
    assert bayer_matrix(2).tolist() == [[-0.375, 0.125], [0.375, -0.125]]
    four = bayer_matrix(4)
    assert sorted(((four + 0.5) * 16 - 0.5).round().flatten().tolist()) == list(range(16))


def test_quantize_refuses_bad_input(ctx):
    with pytest.raises(ValueError, match="ImageQuantize.*dither"):
        values(ImageQuantize, ctx, image=two_colour_picture(), colors=2, dither="bayer-3")
    with pytest.raises(ValueError, match="ImageQuantize.*colors"):
        values(ImageQuantize, ctx, image=two_colour_picture(), colors=0, dither="none")
    with pytest.raises(ValueError, match="ImageQuantize.*3 \\(RGB\\) channels"):
        values(ImageQuantize, ctx, image=constant(0.5, channels=4), colors=2, dither="none")
