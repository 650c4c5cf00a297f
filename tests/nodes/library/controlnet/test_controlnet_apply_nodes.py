"""Apply ControlNet nodes: what they put in the conditioning (ComfyUI's shape), chaining, strength 0,
SetUnionControlNetType, and bad inputs."""

from __future__ import annotations

import pytest
import torch

from diffusion.sampling.control import AppliedControl, ControlModel
from nodes.library.controlnet.controlnet_apply import ControlNetApply, ControlNetApplyAdvanced
from nodes.library.controlnet.controlnet_loaders import SetUnionControlNetType

NET = ControlModel(torch.nn.Conv2d(1, 1, 1), "controlnet", "sd1", "control_a.safetensors")
IMAGE = torch.rand(1, 16, 24, 3)


def _cond(**options):
    return [[torch.zeros(1, 3, 8), dict(options)]]


def test_advanced_applies_one_control_per_previous_and_chains():
    pos, neg = ControlNetApplyAdvanced.run(None, positive=_cond(), negative=_cond(), control_net=NET, image=IMAGE,
                                           strength=0.7, start_percent=0.1, end_percent=0.9)
    first = pos[0][1]["control"]
    assert isinstance(first, AppliedControl) and neg[0][1]["control"] is first  # shared: cond and uncond batch
    assert (first.strength, first.start_percent, first.end_percent) == (0.7, 0.1, 0.9)
    assert first.hint.shape == (1, 3, 16, 24) and first.previous is None
    assert pos[0][1]["control_apply_to_uncond"] is False
    pos2, _ = ControlNetApplyAdvanced.run(None, positive=pos, negative=neg, control_net=NET, image=IMAGE,
                                          strength=1.0, start_percent=0.0, end_percent=1.0)
    assert pos2[0][1]["control"].previous is first
    assert pos[0][1]["control"] is first  # the input is unchanged


def test_strength_zero_returns_the_conditioning_itself():
    pos, neg = _cond(), _cond()
    out = ControlNetApplyAdvanced.run(None, positive=pos, negative=neg, control_net=NET, image=IMAGE, strength=0.0,
                                      start_percent=0.0, end_percent=1.0)
    assert out[0] is pos and out[1] is neg
    assert ControlNetApply.run(None, conditioning=pos, control_net=NET, image=IMAGE, strength=0.0)[0] is pos


def test_old_apply_marks_the_control_for_the_negative():
    (out,) = ControlNetApply.run(None, conditioning=_cond(), control_net=NET, image=IMAGE, strength=1.0)
    assert out[0][1]["control_apply_to_uncond"] is True
    assert out[0][1]["control"].strength == 1.0


def test_union_type_is_set_on_a_copy():
    (typed,) = SetUnionControlNetType.run(None, control_net=NET, type="depth")
    assert typed.extra == {"control_type": [1]} and NET.extra == {}
    assert SetUnionControlNetType.run(None, control_net=NET, type="auto")[0].extra == {"control_type": []}


def test_bad_inputs_name_the_input():
    with pytest.raises(TypeError, match="input 'control_net' must be a CONTROL_NET"):
        ControlNetApply.run(None, conditioning=_cond(), control_net="nope", image=IMAGE, strength=1.0)
    with pytest.raises(ValueError, match="input 'image' must be an IMAGE"):
        ControlNetApply.run(None, conditioning=_cond(), control_net=NET, image=torch.zeros(3, 3), strength=1.0)
