"""Text-encoding nodes on tiny checkpoints: conditioning shape and keys, CLIP skip on a clone, SDXL fields, bad input."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from nodes.api.declare import DeclaredNodeType
from nodes.library.conditioning.clip_text import (
    CLIPSetLastLayer,
    CLIPTextEncode,
    CLIPTextEncodeSDXL,
    CLIPTextEncodeSDXLRefiner,
)
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


def test_text_encode_gives_a_conditioning_with_pooled_output(sd_runtime, tiny_models):
    clip = tiny_models["sd15"].clip
    (cond,) = call(CLIPTextEncode, context(sd_runtime), text="a photo of a cat", clip=clip)
    assert len(cond) == 1
    tensor, options = cond[0]
    assert tensor.shape == (1, 77, 64) and tensor.dtype == torch.float32
    assert options["pooled_output"].shape == (1, 64)
    (again,) = call(CLIPTextEncode, context(sd_runtime), text="a photo of a cat", clip=clip)
    assert torch.equal(again[0][0], tensor)
    (other,) = call(CLIPTextEncode, context(sd_runtime), text="a dog", clip=clip)
    assert not torch.equal(other[0][0], tensor)


def test_long_prompts_are_encoded_in_77_token_windows(sd_runtime, tiny_models):
    (cond,) = call(CLIPTextEncode, context(sd_runtime), text="word " * 100, clip=tiny_models["sd15"].clip)
    assert cond[0][0].shape[1] == 154


def test_text_encode_declares_comfyui_inputs():
    schema = DeclaredNodeType(CLIPTextEncode).schema()
    assert [i.name for i in schema.inputs] == ["text", "clip"]
    assert schema.input("text").options["multiline"] and schema.input("text").options["dynamicPrompts"]
    assert schema.output_types == ("CONDITIONING",)


def test_text_encode_without_clip_is_a_clear_error(sd_runtime):
    with pytest.raises(RuntimeError, match="CLIPTextEncode: input 'clip' is None"):
        call(CLIPTextEncode, context(sd_runtime), text="x", clip=None)
    with pytest.raises(TypeError, match="must be a CLIP"):
        call(CLIPTextEncode, context(sd_runtime), text="x", clip="not a clip")


def test_set_last_layer_returns_a_clone(sd_runtime, tiny_models):
    clip = tiny_models["sd15"].clip
    (skipped,) = call(CLIPSetLastLayer, context(sd_runtime), clip=clip, stop_at_clip_layer=-2)
    assert skipped is not clip and clip.clip_skip is None and skipped.clip_skip == -2
    (default,) = call(CLIPTextEncode, context(sd_runtime), text="a cat", clip=clip)
    (penultimate,) = call(CLIPTextEncode, context(sd_runtime), text="a cat", clip=skipped)
    assert not torch.allclose(default[0][0], penultimate[0][0])
    schema = DeclaredNodeType(CLIPSetLastLayer).schema()
    assert schema.input("stop_at_clip_layer").options == {"default": -1, "min": -24, "max": -1, "step": 1}


def test_sdxl_encode_puts_the_size_fields_in_the_conditioning(sd_runtime, tiny_models):
    clip = tiny_models["sdxl"].clip
    (cond,) = call(CLIPTextEncodeSDXL, context(sd_runtime), clip=clip, width=1024, height=768, crop_w=8, crop_h=16,
                   target_width=1024, target_height=768, text_g="a castle", text_l="oil painting")
    tensor, options = cond[0]
    assert tensor.shape[0] == 1 and tensor.shape[1] == 77
    assert {k: options[k] for k in ("width", "height", "crop_w", "crop_h", "target_width", "target_height")} == {
        "width": 1024, "height": 768, "crop_w": 8, "crop_h": 16, "target_width": 1024, "target_height": 768}
    assert options["pooled_output"].ndim == 2
    names = [i.name for i in DeclaredNodeType(CLIPTextEncodeSDXL).schema().inputs]
    assert names == ["clip", "width", "height", "crop_w", "crop_h", "target_width", "target_height", "text_g", "text_l"]


def test_sdxl_encode_refuses_a_non_sdxl_clip(sd_runtime, tiny_models):
    with pytest.raises(ValueError, match="CLIPTextEncodeSDXL: input 'clip' must be an SDXL"):
        call(CLIPTextEncodeSDXL, context(sd_runtime), clip=tiny_models["sd15"].clip, width=1024, height=1024,
             crop_w=0, crop_h=0, target_width=1024, target_height=1024, text_g="a", text_l="b")


def test_refiner_encode_sets_aesthetic_score(sd_runtime, tiny_models):
    (cond,) = call(CLIPTextEncodeSDXLRefiner, context(sd_runtime), ascore=2.5, width=1024, height=1024,
                   text="blurry", clip=tiny_models["sdxl-refiner"].clip)
    options = cond[0][1]
    assert options["aesthetic_score"] == 2.5 and options["width"] == 1024 and options["height"] == 1024
    names = [i.name for i in DeclaredNodeType(CLIPTextEncodeSDXLRefiner).schema().inputs]
    assert names == ["ascore", "width", "height", "text", "clip"]
