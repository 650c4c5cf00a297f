"""The memory planner counts the packed CPU weight copies (diffusion/models/unet/prepacked.py) with the
model they belong to, and evicting a model on the CPU drops them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import diffusion.models.unet.prepacked as prepacked
from diffusion.memory.model_manager import ModelManager
from diffusion.memory.patcher import ModelPatcher, module_size_bytes
from diffusion.models.unet.prepacked import PackedConv2d, PackedLinear, enable_weight_packing, packed_bytes

pytestmark = pytest.mark.skipif(not prepacked.packing_available(), reason="this torch build has no oneDNN packing")


def _net(dtype=torch.float32) -> nn.Module:
    return nn.Sequential(PackedConv2d(8, 8, 3, padding=1), PackedLinear(8, 64)).eval().to(dtype)


def _run(net: nn.Module) -> None:
    with torch.no_grad():
        net[0](torch.randn(1, 8, 6, 6, dtype=net[0].weight.dtype))
        net[1](torch.randn(4, 8, dtype=net[1].weight.dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_packing_model_counts_the_copies_it_will_make(dtype):
    net = _net(dtype)
    plain = module_size_bytes(net)
    assert ModelPatcher(net).model_size_bytes() == plain  # not enabled: no copies
    enable_weight_packing(net)
    conv_bytes = net[0].weight.numel() * net[0].weight.element_size()
    linear_bytes = net[1].weight.numel() * net[1].weight.element_size() if dtype == torch.bfloat16 else 0  # fp32: plain
    assert ModelPatcher(net).model_size_bytes() == plain + conv_bytes + linear_bytes
    _run(net)
    assert packed_bytes(net) == conv_bytes + linear_bytes  # what was counted is what was made


def test_a_cpu_budget_that_fits_two_plain_models_but_not_two_packed_ones_evicts_and_drops_the_copies():
    first, second = _net(), _net()
    for net in (first, second):
        enable_weight_packing(net)
    a, b = ModelPatcher(first), ModelPatcher(second)
    plain = module_size_bytes(first)
    assert 2 * plain < 2 * a.model_size_bytes()
    manager = ModelManager("cpu", budget_bytes=2 * plain + 1)
    manager.load_models([a])
    _run(first)
    assert packed_bytes(first) > 0
    manager.load_models([b])
    assert manager.loaded() == [b]  # the packed copies did not fit beside it: the first model was evicted
    assert packed_bytes(first) == 0 and first[0].packing  # its copies dropped; remade if it runs again
    _run(first)
    assert packed_bytes(first) > 0


def test_free_drops_the_packed_copies_of_cpu_models():
    net = _net()
    enable_weight_packing(net)
    manager = ModelManager("cpu", budget_bytes=10 * module_size_bytes(net))
    manager.load_models([ModelPatcher(net)])
    _run(net)
    manager.unload_all()
    assert packed_bytes(net) == 0 and manager.loaded() == []
