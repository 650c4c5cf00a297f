"""CLIPTextEncodeControlnet on a tiny checkpoint: the ControlNet prompt keys hold what CLIPTextEncode gives."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.conditioning.controlnet_text import CLIPTextEncodeControlnet
from tests.nodes.sd_fakes import conditioning, same_conditioning, snapshot
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


def test_controlnet_text_sets_the_encoded_prompt_on_every_entry(sd_runtime, tiny_models):
    clip = tiny_models["sd15"].clip
    base = conditioning(dim=64, seed=1) + conditioning(dim=64, seed=2)
    before = snapshot(base)
    (out,) = call(CLIPTextEncodeControlnet, context(sd_runtime), clip=clip, conditioning=base, text="a red door")
    ((expected, expected_options),) = call(CLIPTextEncode, context(sd_runtime), text="a red door", clip=clip)[0]
    assert len(out) == 2
    for (tensor, options), (original, original_options) in zip(out, base, strict=True):
        assert tensor is original and options["pooled_output"] is original_options["pooled_output"]
        assert torch.equal(options["cross_attn_controlnet"], expected)
        assert torch.equal(options["pooled_output_controlnet"], expected_options["pooled_output"])
    assert same_conditioning(base, before)


def test_controlnet_text_bad_inputs_name_the_input(sd_runtime, tiny_models):
    with pytest.raises(RuntimeError, match="CLIPTextEncodeControlnet: input 'clip' is None"):
        call(CLIPTextEncodeControlnet, context(sd_runtime), clip=None, conditioning=conditioning(), text="x")
    with pytest.raises(TypeError, match="CLIPTextEncodeControlnet: input 'conditioning' must be a CONDITIONING"):
        call(CLIPTextEncodeControlnet, context(sd_runtime), clip=tiny_models["sd15"].clip, conditioning={}, text="x")
