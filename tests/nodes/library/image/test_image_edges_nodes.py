"""Morphology and Canny: a single pixel through every operation, a white square's edges, clear errors.

The torch code was also checked against kornia 0.8.1 (what ComfyUI calls) on random and binary images:
identical for every operation and kernel size 3, 4, 7, and for three threshold pairs of Canny.
"""

import pytest
import torch

from nodes.library.image import edges
from nodes.library.image.postprocess import Canny, Morphology
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def single_pixel(size: int = 7, row: int = 3, col: int = 3) -> torch.Tensor:
    image = torch.zeros(1, size, size, 1)
    image[0, row, col, 0] = 1.0
    return image


def box(size: int, top: int, left: int, height: int, width: int) -> torch.Tensor:
    out = torch.zeros(size, size)
    out[top:top + height, left:left + width] = 1.0
    return out


def morph(ctx, image, operation, kernel_size=3):
    return values(Morphology, ctx, image=image, operation=operation, kernel_size=kernel_size)[0][0, :, :, 0]


def test_dilate_grows_a_pixel_into_the_kernel_square(ctx):
    assert torch.equal(morph(ctx, single_pixel(), "dilate"), box(7, 2, 2, 3, 3))
    # An even window reaches one pixel further up/left (kornia's origin k // 2).
    assert torch.equal(morph(ctx, single_pixel(), "dilate", 4), box(7, 2, 2, 4, 4))


def test_erode_removes_a_pixel_and_keeps_a_square(ctx):
    assert torch.equal(morph(ctx, single_pixel(), "erode"), torch.zeros(7, 7))
    square = box(7, 1, 1, 5, 5).view(1, 7, 7, 1)
    assert torch.equal(morph(ctx, square, "erode"), box(7, 2, 2, 3, 3))


def test_the_border_takes_no_part(ctx):
    white = torch.ones(1, 5, 5, 1)
    assert torch.equal(morph(ctx, white, "erode", 5), torch.ones(5, 5))  # no black border eats in
    corner = single_pixel(5, 0, 0)
    assert torch.equal(morph(ctx, corner, "dilate"), box(5, 0, 0, 2, 2))


def test_composite_operations_on_a_pixel(ctx):
    pixel = single_pixel()
    assert torch.equal(morph(ctx, pixel, "open"), torch.zeros(7, 7))
    assert torch.equal(morph(ctx, pixel, "close"), pixel[0, :, :, 0])
    assert torch.equal(morph(ctx, pixel, "gradient"), box(7, 2, 2, 3, 3))
    assert torch.equal(morph(ctx, pixel, "top_hat"), pixel[0, :, :, 0])
    assert torch.equal(morph(ctx, pixel, "bottom_hat"), torch.zeros(7, 7))
    hole = 1 - pixel
    assert torch.equal(morph(ctx, hole, "bottom_hat"), pixel[0, :, :, 0])


def test_morphology_works_per_channel_and_keeps_the_input(ctx):
    image = torch.zeros(2, 6, 6, 3)
    image[1, 2, 2, 1] = 0.5
    before = image.clone()
    (out,) = values(Morphology, ctx, image=image, operation="dilate", kernel_size=3)
    assert out.shape == image.shape and torch.equal(image, before)
    assert out[1, 1:4, 1:4, 1].eq(0.5).all() and out[1, :, :, 0].eq(0).all() and out[0].eq(0).all()


def test_morphology_refuses_bad_input(ctx):
    with pytest.raises(ValueError, match="Morphology.*operation"):
        values(Morphology, ctx, image=single_pixel(), operation="thin", kernel_size=3)
    with pytest.raises(ValueError, match="Morphology.*kernel_size"):
        values(Morphology, ctx, image=single_pixel(), operation="erode", kernel_size=1)


def white_square(size: int = 24, start: int = 8, stop: int = 16) -> torch.Tensor:
    image = torch.zeros(1, size, size, 3)
    image[:, start:stop, start:stop, :] = 1.0
    return image


def test_canny_finds_the_edges_of_a_white_square_and_nothing_inside(ctx):
    (edges,) = values(Canny, ctx, image=white_square(), low_threshold=0.4, high_threshold=0.8)
    assert edges.shape == (1, 24, 24, 3) and torch.equal(edges[..., 0], edges[..., 2])
    found = edges[0, :, :, 0]
    assert set(found.unique().tolist()) == {0.0, 1.0}
    assert found[9:15, 9:15].sum() == 0  # inside the square
    outside = torch.ones(24, 24)
    outside[6:18, 6:18] = 0
    assert (found * outside).sum() == 0  # far outside
    # Each side of the square has an edge line along most of its length, on the boundary rows/columns.
    for line in (found[7:9, 8:16].amax(0), found[15:17, 8:16].amax(0), found[8:16, 7:9].amax(1),
                 found[8:16, 15:17].amax(1)):
        assert line.sum() >= 6


def test_canny_of_a_flat_image_is_empty(ctx):
    (edges,) = values(Canny, ctx, image=torch.full((1, 10, 10, 3), 0.7), low_threshold=0.1, high_threshold=0.2)
    assert edges.sum() == 0


def faint_vertical_edge() -> torch.Tensor:
    """0 | 0.15 | 0.3 across columns 7, 8, 9: its gradient peaks on column 8 at about 0.78."""
    image = torch.zeros(1, 16, 16, 1)
    image[0, :, 8] = 0.15
    image[0, :, 9:] = 0.3
    return image


def test_canny_drops_weak_edges_without_a_strong_one(ctx):
    (alone,) = values(Canny, ctx, image=faint_vertical_edge(), low_threshold=0.2, high_threshold=0.9)
    assert alone.sum() == 0
    (strong,) = values(Canny, ctx, image=faint_vertical_edge(), low_threshold=0.2, high_threshold=0.7)
    expected = torch.zeros(16, 16)
    expected[:, 8] = 1.0
    assert torch.equal(strong[0, :, :, 0], expected)


def test_hysteresis_grows_strong_pixels_along_touching_weak_ones():
    strong = torch.zeros(1, 1, 6, 6, dtype=torch.bool)
    strong[0, 0, 0, 0] = True
    weak = torch.zeros(1, 1, 6, 6, dtype=torch.bool)
    for step in range(5):
        weak[0, 0, step, step] = True  # a diagonal chain from the strong pixel
    weak[0, 0, 0, 5] = True  # a weak pixel touching nothing strong
    grown = edges._hysteresis(strong, weak | strong)
    expected = torch.eye(6, dtype=torch.bool)
    expected[5, 5] = False
    assert torch.equal(grown[0, 0], expected)


def test_canny_refuses_bad_input(ctx):
    with pytest.raises(ValueError, match="Canny.*low_threshold.*high_threshold"):
        values(Canny, ctx, image=white_square(), low_threshold=0.9, high_threshold=0.5)
    with pytest.raises(ValueError, match="Canny.*high_threshold"):
        values(Canny, ctx, image=white_square(), low_threshold=0.4, high_threshold=1.5)
    with pytest.raises(ValueError, match="Canny.*3 x 3"):
        values(Canny, ctx, image=torch.zeros(1, 2, 8, 3), low_threshold=0.4, high_threshold=0.8)
    with pytest.raises(ValueError, match="Canny.*channels"):
        values(Canny, ctx, image=torch.zeros(1, 8, 8, 2), low_threshold=0.4, high_threshold=0.8)
