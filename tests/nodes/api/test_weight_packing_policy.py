"""The memory policy decides whether CPU weights are packed for oneDNN (each packed weight costs one
extra copy): on for normal/high, off for low/none (--lowvram, --novram)."""

from __future__ import annotations

import pytest
import torch

import diffusion.models.unet.prepacked as prepacked
from diffusion.models.unet.prepacked import PackedConv2d
from nodes.api.model_services import ModelServices
from nodes.api.runtime import DeviceRequest

pytestmark = pytest.mark.skipif(not prepacked.packing_available(), reason="this torch build has no oneDNN packing")


@pytest.fixture(autouse=True)
def restore_packing():
    yield
    prepacked.set_weight_packing(True)


def _packs_a_copy() -> bool:
    conv = PackedConv2d(4, 4, 3, padding=1).eval().to(torch.bfloat16)
    with torch.no_grad():
        conv(torch.randn(1, 4, 8, 8, dtype=torch.bfloat16))
    return conv._packed is not None


@pytest.mark.parametrize(("memory", "packed"), [("normal", True), ("high", True), ("low", False), ("none", False)])
def test_the_memory_policy_turns_packing_on_or_off(memory, packed):
    ModelServices.create(DeviceRequest(cpu=True, precision="fp32", memory=memory))
    assert _packs_a_copy() is packed
