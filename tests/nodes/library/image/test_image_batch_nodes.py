"""GetImageSize, ImageAddNoise, ImageFromBatch, RepeatImageBatch, RebatchImages, BatchImagesNode."""

import pytest
import torch

from graph.context import NodeContext
from nodes.library.image.batch import (
    BatchImagesNode,
    GetImageSize,
    ImageAddNoise,
    ImageFromBatch,
    RebatchImages,
    RepeatImageBatch,
)
from tests.nodes.sd_fakes import execute, values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def indexed(batch: int, height: int = 2, width: int = 2, channels: int = 3) -> torch.Tensor:
    """A batch whose image i is filled with i / 10."""
    return (torch.arange(batch, dtype=torch.float32) / 10).view(batch, 1, 1, 1).expand(
        batch, height, width, channels).clone()


def firsts(images: torch.Tensor) -> list:
    return [round(v, 4) for v in images[:, 0, 0, 0].tolist()]


def test_get_image_size_and_its_progress_text():
    texts = []
    ctx = NodeContext(node_id="7", prompt_id="p", on_text=lambda node, text: texts.append((node, text)))
    assert values(GetImageSize, ctx, image=torch.zeros(3, 20, 40, 3), unique_id="7") == (40, 20, 3)
    assert texts == [("7", "width: 40, height: 20\n batch size: 3")]
    assert values(GetImageSize, ctx, image=torch.zeros(1, 2, 5, 4)) == (5, 2, 1)
    with pytest.raises(TypeError, match="GetImageSize.*image"):
        values(GetImageSize, ctx, image=None)


def test_add_noise_is_the_seeded_normal_noise_clamped(ctx):
    image = torch.full((1, 4, 4, 3), 0.5)
    (out,) = values(ImageAddNoise, ctx, image=image, seed=42, strength=0.1)
    noise = torch.randn((1, 4, 4, 3), generator=torch.Generator().manual_seed(42))
    assert torch.allclose(out, torch.clamp(0.5 + 0.1 * noise, 0, 1))
    (again,) = values(ImageAddNoise, ctx, image=image, seed=42, strength=0.1)
    assert torch.equal(out, again) and torch.equal(image, torch.full((1, 4, 4, 3), 0.5))
    (loud,) = values(ImageAddNoise, ctx, image=image, seed=1, strength=1.0)
    assert loud.min() >= 0 and loud.max() <= 1
    (silent,) = values(ImageAddNoise, ctx, image=image, seed=3, strength=0.0)
    assert torch.equal(silent, image)
    with pytest.raises(ValueError, match="ImageAddNoise.*strength"):
        values(ImageAddNoise, ctx, image=image, seed=3, strength=2.0)


def test_image_from_batch_cuts_back_to_the_batch(ctx):
    images = indexed(5)
    assert firsts(values(ImageFromBatch, ctx, image=images, batch_index=1, length=2)[0]) == [0.1, 0.2]
    assert firsts(values(ImageFromBatch, ctx, image=images, batch_index=3, length=9)[0]) == [0.3, 0.4]
    assert firsts(values(ImageFromBatch, ctx, image=images, batch_index=99, length=1)[0]) == [0.4]
    with pytest.raises(ValueError, match="ImageFromBatch.*length"):
        values(ImageFromBatch, ctx, image=images, batch_index=0, length=0)


def test_repeat_image_batch(ctx):
    assert firsts(values(RepeatImageBatch, ctx, image=indexed(2), amount=3)[0]) == [0, 0.1, 0, 0.1, 0, 0.1]
    with pytest.raises(ValueError, match="RepeatImageBatch.*amount"):
        values(RepeatImageBatch, ctx, image=indexed(2), amount=0)


def test_rebatch_images_regroups_a_list_of_batches(ctx):
    output = execute(RebatchImages, ctx, images=[indexed(3), indexed(2) + 0.5], batch_size=[2])
    (batches,) = output.values
    assert [firsts(b) for b in batches] == [[0, 0.1], [0.2, 0.5], [0.6]]
    (single,) = values(RebatchImages, ctx, images=[indexed(3)], batch_size=[5])
    assert [firsts(b) for b in single] == [[0, 0.1, 0.2]]


def test_rebatch_images_refuses_mixed_sizes(ctx):
    with pytest.raises(ValueError, match="RebatchImages.*different sizes"):
        values(RebatchImages, ctx, images=[indexed(1), indexed(1, 4, 4)], batch_size=[2])
    with pytest.raises(ValueError, match="RebatchImages.*batch_size"):
        values(RebatchImages, ctx, images=[indexed(1)], batch_size=[0])


def test_batch_images_node_joins_resizes_and_adds_alpha(ctx):
    first = indexed(2, 4, 4, 4)
    second = torch.full((1, 2, 2, 3), 0.5)
    (batch,) = values(BatchImagesNode, ctx, images={"image0": first, "image1": second})
    assert batch.shape == (3, 4, 4, 4)
    assert torch.equal(batch[:2], first)
    assert torch.allclose(batch[2, ..., :3], torch.full((4, 4, 3), 0.5)) and batch[2, ..., 3].eq(1).all()
    (listed,) = values(BatchImagesNode, ctx, images=[second, second])
    assert listed.shape == (2, 2, 2, 3)


def test_batch_images_node_refuses_bad_input(ctx):
    with pytest.raises(ValueError, match="BatchImagesNode.*images"):
        values(BatchImagesNode, ctx, images={})
    with pytest.raises(TypeError, match="BatchImagesNode.*image1"):
        values(BatchImagesNode, ctx, images=[indexed(1), "x"])
