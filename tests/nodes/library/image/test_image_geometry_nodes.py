"""ImageFlip, ImageRotate, ImageStitch, ResizeAndPadImage, ImageScaleToMaxDimension: exact pixels and errors."""

import pytest
import torch

from nodes.library.image.geometry import (
    ImageFlip,
    ImageRotate,
    ImageScaleToMaxDimension,
    ImageStitch,
    ResizeAndPadImage,
)
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def numbered(height: int = 2, width: int = 3) -> torch.Tensor:
    """[1, H, W, 1] holding 0, 1, 2, ... row by row."""
    return torch.arange(height * width, dtype=torch.float32).view(1, height, width, 1)


def grid(image: torch.Tensor) -> list:
    return image[0, :, :, 0].tolist()


def test_flip_vertically_and_horizontally(ctx):
    image = numbered()
    assert grid(values(ImageFlip, ctx, image=image, flip_method="x-axis: vertically")[0]) == [[3, 4, 5], [0, 1, 2]]
    assert grid(values(ImageFlip, ctx, image=image, flip_method="y-axis: horizontally")[0]) == [[2, 1, 0], [5, 4, 3]]
    assert grid(image) == [[0, 1, 2], [3, 4, 5]]


def test_rotate_turns_clockwise(ctx):
    image = numbered()
    assert grid(values(ImageRotate, ctx, image=image, rotation="none")[0]) == [[0, 1, 2], [3, 4, 5]]
    assert grid(values(ImageRotate, ctx, image=image, rotation="90 degrees")[0]) == [[3, 0], [4, 1], [5, 2]]
    assert grid(values(ImageRotate, ctx, image=image, rotation="180 degrees")[0]) == [[5, 4, 3], [2, 1, 0]]
    assert grid(values(ImageRotate, ctx, image=image, rotation="270 degrees")[0]) == [[2, 5], [1, 4], [0, 3]]


def test_flip_and_rotate_refuse_bad_input(ctx):
    with pytest.raises(ValueError, match="ImageFlip.*flip_method"):
        values(ImageFlip, ctx, image=numbered(), flip_method="diagonal")
    with pytest.raises(ValueError, match="ImageRotate.*rotation"):
        values(ImageRotate, ctx, image=numbered(), rotation="45 degrees")
    with pytest.raises(ValueError, match="ImageRotate.*image"):
        values(ImageRotate, ctx, image=torch.zeros(0, 2, 2, 3), rotation="none")


def stitch(ctx, image1, image2=None, **options):
    settings = {"direction": "right", "match_image_size": False, "spacing_width": 0, "spacing_color": "white"}
    settings.update(options)
    return values(ImageStitch, ctx, image1=image1, image2=image2, **settings)[0]


def test_stitch_directions(ctx):
    first, second = torch.zeros(1, 2, 2, 3), torch.ones(1, 2, 3, 3)
    assert stitch(ctx, first)[0].equal(first[0])
    right = stitch(ctx, first, second)
    assert right.shape == (1, 2, 5, 3) and right[0, :, :2].eq(0).all() and right[0, :, 2:].eq(1).all()
    left = stitch(ctx, first, second, direction="left")
    assert left[0, :, :3].eq(1).all() and left[0, :, 3:].eq(0).all()
    down = stitch(ctx, first, torch.ones(1, 1, 2, 3), direction="down")
    assert down.shape == (1, 3, 2, 3) and down[0, 2].eq(1).all() and down[0, :2].eq(0).all()
    up = stitch(ctx, first, torch.ones(1, 1, 2, 3), direction="up")
    assert up[0, 0].eq(1).all() and up[0, 1:].eq(0).all()


def test_stitch_pads_spaces_and_repeats_the_shorter_batch(ctx):
    first = torch.zeros(2, 4, 2, 3)
    second = torch.full((1, 1, 2, 3), 0.5)
    out = stitch(ctx, first, second, spacing_width=2, spacing_color="red")
    assert out.shape == (2, 4, 6, 3)
    assert out[:, :, 2:4].eq(torch.tensor([1.0, 0.0, 0.0])).all()  # the red spacer
    # image2 is centred in height, 1 row above and 2 below, padded black for an RGB spacing colour.
    assert out[:, 1, 4:].eq(0.5).all() and out[:, 0, 4:].eq(0.0).all() and out[:, 2:, 4:].eq(0.0).all()
    white = stitch(ctx, first, second, spacing_width=3, spacing_color="white")
    assert white.shape == (2, 4, 8, 3)  # an odd spacing grows to the next even width
    assert white[:, :, 2:6].eq(1.0).all() and white[:, 0, 6:].eq(1.0).all() and white[:, 1, 6:].eq(0.5).all()


def test_stitch_matches_sizes_and_channels(ctx):
    first = torch.zeros(1, 4, 4, 4)
    second = torch.ones(1, 2, 4, 3)
    out = stitch(ctx, first, second, match_image_size=True)
    assert out.shape == (1, 4, 12, 4)  # image2 scaled to height 4 keeps its 2:1 aspect
    assert torch.allclose(out[0, :, 4:, :3], torch.ones(4, 8, 3), atol=1e-2)
    assert out[0, :, 4:, 3].eq(1.0).all()  # the missing alpha is opaque


def test_stitch_refuses_bad_input(ctx):
    with pytest.raises(ValueError, match="ImageStitch.*direction"):
        stitch(ctx, torch.zeros(1, 2, 2, 3), torch.zeros(1, 2, 2, 3), direction="diagonal")
    with pytest.raises(TypeError, match="ImageStitch.*image2"):
        stitch(ctx, torch.zeros(1, 2, 2, 3), [1, 2])


def test_resize_and_pad_centres_the_scaled_image(ctx):
    image = torch.full((1, 2, 4, 3), 0.25)
    (out,) = values(ResizeAndPadImage, ctx, image=image, target_width=8, target_height=8, padding_color="black",
                    interpolation="nearest-exact")
    assert out.shape == (1, 8, 8, 3)
    assert out[0, 2:6].eq(0.25).all() and out[0, :2].eq(0).all() and out[0, 6:].eq(0).all()
    (white,) = values(ResizeAndPadImage, ctx, image=image, target_width=4, target_height=5, padding_color="white",
                      interpolation="area")
    assert white.shape == (1, 5, 4, 3) and white[0, 0].eq(1).all() and white[0, 1:3].eq(0.25).all()
    assert white[0, 3:].eq(1).all()


def test_resize_and_pad_refuses_bad_input(ctx):
    with pytest.raises(ValueError, match="ResizeAndPadImage.*padding_color"):
        values(ResizeAndPadImage, ctx, image=torch.zeros(1, 2, 2, 3), target_width=4, target_height=4,
               padding_color="grey", interpolation="area")


def test_scale_to_max_dimension(ctx):
    def size(height, width, largest):
        (out,) = values(ImageScaleToMaxDimension, ctx, image=torch.rand(1, height, width, 3),
                        upscale_method="bilinear", largest_size=largest)
        return tuple(out.shape[1:3])

    assert size(20, 40, 10) == (5, 10)
    assert size(40, 20, 100) == (100, 50)
    assert size(7, 7, 3) == (3, 3)
    with pytest.raises(ValueError, match="ImageScaleToMaxDimension.*largest_size"):
        size(7, 7, 0)
