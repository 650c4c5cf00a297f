"""Size limits (nodes/api/limits.py): huge images, latents, masks and batches are refused before allocation."""

from __future__ import annotations

import dataclasses

import pytest

from graph.validate import validate_prompt
from nodes.api.declare import DeclaredNodeType
from nodes.api.limits import DEFAULT_MAX_BATCH, DEFAULT_MAX_PIXELS, SizeLimitError, SizeLimits, size_problem
from nodes.build import build_registry
from nodes.library.image.batch import RepeatImageBatch
from nodes.library.image.transform import EmptyImage, ImagePadForOutpaint, ImageScale, ImageScaleBy
from nodes.library.latent.latent_ops import EmptyLatentImage, LatentUpscaleBy, RepeatLatentBatch
from nodes.library.mask.mask_ops import SolidMask
from tests.nodes.sd_fakes import values


def hook(node_cls, runtime, **inputs):
    return DeclaredNodeType(node_cls, runtime).validate(inputs, None)


def test_the_defaults_are_an_8192_square_and_a_batch_of_64(runtime):
    assert (DEFAULT_MAX_PIXELS, DEFAULT_MAX_BATCH) == (8192 * 8192, 64)
    assert runtime.limits.max_pixels == DEFAULT_MAX_PIXELS and runtime.limits.max_batch == 64
    assert runtime.limits.memory_bytes > 0


def test_size_problem_counts_pixels_at_image_scale_and_bytes_as_float32():
    limits = SizeLimits(max_pixels=100, max_batch=4, memory_bytes=1500)
    assert size_problem(limits, "N", width=10, height=10) is None
    assert size_problem(limits, "N", width=10, height=11)[1] == \
        "N: 10x11 is 110 pixels per image, over the limit of 100 (--max-pixels); its output alone is about 1,320 bytes"
    # A latent pixel stands for 8x8 image pixels.
    assert size_problem(limits, "N", width=2, height=1, scale=8)[1].startswith("N: 16x8 is 128 pixels")
    assert size_problem(limits, "N", width=1, height=1, batch=5)[0] == "batch_size"
    # 4 x 3 x 6 x 6 x 4 bytes = 1728 > 1500.
    name, message = size_problem(limits, "N", width=6, height=6, batch=4)
    assert name == "batch_size" and "1,728 bytes" in message and "4 x 3 x 6 x 6 float32" in message


def test_limits_refuse_nonsense_values():
    with pytest.raises(ValueError, match="max_pixels"):
        SizeLimits(max_pixels=0)
    with pytest.raises(ValueError, match="max_batch"):
        SizeLimits(max_batch=True)


def test_empty_latent_image_refuses_a_16384_square_and_a_batch_of_4096(runtime):
    problems = hook(EmptyLatentImage, runtime, width=16384, height=16384, batch_size=1)
    # The latent alone is only 64 MB: what it would cost to sample and decode is what the pixel limit guards.
    assert problems == [("width", "EmptyLatentImage: 16384x16384 is 268,435,456 pixels per image, over the limit "
                                  "of 67,108,864 (--max-pixels); its output alone is about 64 MB")]
    problems = hook(EmptyLatentImage, runtime, width=64, height=64, batch_size=4096)
    assert problems == [("batch_size", "EmptyLatentImage: a batch of 4,096 is over the limit of 64 (--max-batch); "
                                       "its output alone is about 4 MB")]
    assert hook(EmptyLatentImage, runtime, width=4096, height=4096, batch_size=64) == []
    # Naming the inputs in validate() skips the generic range check, so it is done there too.
    assert hook(EmptyLatentImage, runtime, width=8, height=512, batch_size=1)[0][1] == \
        "EmptyLatentImage: input 'width' is 8, smaller than min of 16"
    assert hook(EmptyLatentImage, runtime, width=512, height=512, batch_size=5000)[0][1] == \
        "EmptyLatentImage: input 'batch_size' is 5000, bigger than max of 4096"
    # A linked input is unknown before the run: nothing to say yet.
    assert hook(EmptyLatentImage, runtime, width=None, height=16384, batch_size=1) == []


def test_the_flags_move_the_limits(runtime, make_ctx):
    runtime.limits = SizeLimits(max_pixels=64 * 64, max_batch=2)
    assert hook(EmptyImage, runtime, width=64, height=64, batch_size=2) == []
    assert hook(EmptyImage, runtime, width=65, height=64, batch_size=1)[0][0] == "width"
    assert hook(EmptyImage, runtime, width=8, height=8, batch_size=3)[0][0] == "batch_size"
    assert hook(SolidMask, runtime, width=64, height=65)[0][1].startswith("SolidMask: 64x65 is 4,160 pixels")
    assert hook(ImageScale, runtime, width=128, height=64)[0][0] == "width"
    assert hook(ImageScale, runtime, width=0, height=10_000) == []  # the other side comes from the image
    assert hook(RepeatImageBatch, runtime, amount=3) == [
        ("amount", "RepeatImageBatch: a batch of 3 is over the limit of 2 (--max-batch)")]  # image size unknown yet


def test_the_memory_budget_refuses_what_the_pixel_and_batch_limits_let_through(runtime):
    runtime.limits = SizeLimits(memory_bytes=100 * 1024**2)
    # 64 x 3 x 512 x 512 x 4 bytes = 192 MB.
    name, message = hook(EmptyImage, runtime, width=512, height=512, batch_size=64)[0]
    assert name == "batch_size"
    assert message == ("EmptyImage: the output needs about 192 MB (64 x 3 x 512 x 512 float32), over the memory "
                       "budget of 100 MB")


def test_scale_to_total_pixels_refuses_megapixels_over_the_limit(runtime):
    from nodes.library.image.transform import ImageScaleToTotalPixels

    assert hook(ImageScaleToTotalPixels, runtime, megapixels=16.0) == []
    runtime.limits = SizeLimits(max_pixels=1024 * 1024)
    assert hook(ImageScaleToTotalPixels, runtime, megapixels=2.0)[0][0] == "megapixels"


def test_run_time_checks_refuse_sizes_only_known_from_the_inputs(runtime, make_ctx):
    import torch

    ctx = make_ctx()
    runtime.limits = SizeLimits(max_pixels=64 * 64, max_batch=4)
    image = torch.zeros(2, 32, 32, 3)
    with pytest.raises(SizeLimitError, match=r"ImageScaleBy: 96x96 is 9,216 pixels per image"):
        values(ImageScaleBy, ctx, image=image, upscale_method="nearest-exact", scale_by=3.0)
    assert values(ImageScaleBy, ctx, image=image, upscale_method="nearest-exact", scale_by=2.0)[0].shape == \
        (2, 64, 64, 3)
    with pytest.raises(SizeLimitError, match="RepeatImageBatch: a batch of 6"):
        values(RepeatImageBatch, ctx, image=image, amount=3)
    with pytest.raises(SizeLimitError, match="ImagePadForOutpaint: 136x32"):
        values(ImagePadForOutpaint, ctx, image=image, left=104, top=0, right=0, bottom=0, feathering=0)
    latent = {"samples": torch.zeros(1, 4, 8, 8)}  # 64x64 pixels
    with pytest.raises(SizeLimitError, match="LatentUpscaleBy: 128x128"):
        values(LatentUpscaleBy, ctx, samples=latent, upscale_method="nearest-exact", scale_by=2.0)
    with pytest.raises(SizeLimitError, match="RepeatLatentBatch: a batch of 5"):
        values(RepeatLatentBatch, ctx, samples=latent, amount=5)
    assert values(RepeatLatentBatch, ctx, samples=latent, amount=4)[0]["samples"].shape[0] == 4


def test_a_prompt_with_a_huge_latent_is_refused_with_the_node_named(runtime):
    registry, _ = build_registry(runtime)
    prompt = {
        "1": {"class_type": "EmptyLatentImage", "inputs": {"width": 16384, "height": 16384, "batch_size": 1}},
        "2": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 4096, "color": 0}},
        "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
        "4": {"class_type": "SaveLatent", "inputs": {"samples": ["1", 0], "filename_prefix": "x"}},
    }
    checked = validate_prompt(prompt, registry)
    assert not checked.ok
    errors = {node: [(e["type"], e["extra_info"]["input_name"], e["details"]) for e in found["errors"]]
              for node, found in checked.node_errors.items()}
    assert errors["1"] == [("custom_validation_failed", "width", "width - EmptyLatentImage: 16384x16384 is "
                            "268,435,456 pixels per image, over the limit of 67,108,864 (--max-pixels); its output alone is about 64 MB")]
    assert errors["2"][0][:2] == ("custom_validation_failed", "batch_size")
    assert "a batch of 4,096 is over the limit of 64" in errors["2"][0][2]


def test_size_limits_is_a_frozen_value():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SizeLimits().max_batch = 3


def test_the_engine_flags_set_the_runtime_limits():
    import argparse

    from app.engine import add_engine_arguments, size_limits

    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    assert "--max-pixels" in parser.format_help() and "--max-batch" in parser.format_help()
    defaults = size_limits(parser.parse_args([]))
    assert (defaults.max_pixels, defaults.max_batch) == (DEFAULT_MAX_PIXELS, DEFAULT_MAX_BATCH)
    chosen = size_limits(parser.parse_args(["--max-pixels", "1000", "--max-batch", "3"]))
    assert (chosen.max_pixels, chosen.max_batch) == (1000, 3)
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-batch", "0"])
