"""Whether a loaded UNet's CPU weights are packed for oneDNN (each packed weight costs one extra copy) is
decided when the model is loaded: on for the memory policies normal/high, off for low/none (--lowvram,
--novram) and with --no-weight-packing. A model built outside the loaders stays plain."""

from __future__ import annotations

import pytest
import torch

import diffusion.models.unet.prepacked as prepacked
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.prepacked import PackedConv2d
from diffusion.models.unet.unet import UNetModel
from nodes.api.model_services import ModelServices, prepare_unet
from nodes.api.runtime import DeviceRequest

pytestmark = pytest.mark.skipif(not prepacked.packing_available(), reason="this torch build has no oneDNN packing")


class _Loaded:
    """What a checkpoint loader hands prepare_unet: an object with the UNet as `.model`."""

    def __init__(self) -> None:
        self.model = UNetModel(UNetConfig.preset("sd15", "tiny")).eval()


def _packed_after_load(request: DeviceRequest) -> bool:
    services = ModelServices.create(request)
    loaded = prepare_unet(_Loaded(), services.choice)
    layers = [m for m in loaded.model.modules() if isinstance(m, PackedConv2d)]
    assert layers and len({m.packing for m in layers}) == 1  # all or none
    conv = layers[0]
    with torch.no_grad():
        conv(torch.randn(1, conv.in_channels, 8, 8))
    assert (conv._packed is not None) == layers[0].packing
    return layers[0].packing


@pytest.mark.parametrize(("memory", "packed"), [("normal", True), ("high", True), ("low", False), ("none", False)])
def test_the_memory_policy_decides_packing_at_load(memory, packed):
    assert _packed_after_load(DeviceRequest(cpu=True, precision="fp32", memory=memory)) is packed


def test_no_weight_packing_keeps_loaded_weights_plain():
    assert _packed_after_load(DeviceRequest(cpu=True, precision="fp32", weight_packing=False)) is False


def test_a_model_built_outside_the_loaders_stays_plain_whatever_was_loaded_before():
    assert _packed_after_load(DeviceRequest(cpu=True, precision="fp32")) is True
    conv = PackedConv2d(4, 4, 3, padding=1).eval()
    with torch.no_grad():
        conv(torch.randn(1, 4, 8, 8))
    assert conv._packed is None
