"""Packed layers whose plain weights live in files (enable_weight_packing with `file_dir`): the packed copy takes
the plain weight's place in memory, results are the same bits, and every reader of the plain weight still works."""

from __future__ import annotations

import copy
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import diffusion.models.unet.prepacked as prepacked
from diffusion.memory.file_backed import file_backed_module_bytes
from diffusion.memory.patcher import ModelPatcher, module_size_bytes
from diffusion.models.unet.prepacked import (
    PackedConv2d,
    PackedLinear,
    enable_weight_packing,
    packable_bytes,
    packed_bytes,
)
from tests.diffusion.file_pages import resident_kib

pytestmark = [
    pytest.mark.skipif(not prepacked.packing_available(), reason="this torch build has no oneDNN packing"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file-backed weights are Linux only"),
]


def _net(dtype=torch.float32) -> nn.Module:
    torch.manual_seed(0)
    # 2.4 MB conv, 4 MB (bf16) / 8 MB (fp32) wide linear, and a small conv that stays in memory
    return nn.Sequential(PackedConv2d(256, 256, 3, padding=1), PackedConv2d(8, 8, 1), PackedLinear(256, 8192)
                         ).eval().to(dtype)


def _run(net: nn.Module, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    with torch.no_grad():
        return (net[0](torch.randn(1, 256, 6, 6, dtype=dtype)), net[1](torch.randn(1, 8, 4, 4, dtype=dtype)),
                net[2](torch.randn(3, 256, dtype=dtype)))




@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_plain_weights_move_to_files_and_results_keep_their_bits(disk, dtype):
    in_memory, in_files = _net(dtype), _net(dtype)
    enable_weight_packing(in_memory)
    enable_weight_packing(in_files, file_dir=disk)
    conv = in_files[0].weight.numel() * in_files[0].weight.element_size()
    linear = in_files[2].weight.numel() * in_files[2].weight.element_size() if dtype == torch.bfloat16 else 0
    assert file_backed_module_bytes(in_files) == conv + linear  # the small conv and an fp32 linear (runs plain) stay
    small = in_files[1].weight.numel() * in_files[1].weight.element_size()
    # the planner counts a packed copy only where the plain weight is still in memory beside it
    assert packable_bytes(in_files) == small and packable_bytes(in_memory) == conv + linear + small
    assert ModelPatcher(in_files).model_size_bytes() == module_size_bytes(in_files) + small
    for a, b in zip(_run(in_memory, dtype), _run(in_files, dtype), strict=True):
        assert torch.equal(a, b)
    assert packed_bytes(in_files) == conv + linear + small
    assert resident_kib(in_files[0].weight) == 0  # packing read the file: its pages were dropped after
    assert list(disk.iterdir()) == []


def test_edits_saving_and_copies_read_and_write_the_file_backed_weight(disk):
    net = _net()
    enable_weight_packing(net, file_dir=disk)
    _run(net)
    with torch.no_grad():
        net[0].weight.add_(0.5)  # a patch written in place (as merges do): the packed copy is remade
    x = torch.randn(1, 256, 6, 6)
    with torch.no_grad():
        expected = F.conv2d(x, net[0].weight, net[0].bias, 1, 1)
        assert torch.allclose(net[0](x), expected, atol=1e-4, rtol=1e-4)
    assert file_backed_module_bytes(net) > 0  # the edit went into the file
    saved = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    assert torch.equal(saved["0.weight"], net[0].weight)
    twin = copy.deepcopy(net)  # a copy is ordinary memory, the same values
    assert file_backed_module_bytes(twin) == 0 and torch.equal(twin[0].weight, net[0].weight)
    with torch.no_grad():
        assert torch.allclose(twin[0](x), expected, atol=1e-4, rtol=1e-4)


def test_casting_or_disabling_leaves_the_files(disk):
    net = _net()
    enable_weight_packing(net, file_dir=disk)
    assert file_backed_module_bytes(net) > 0
    net.to(torch.bfloat16)  # new tensors: in memory again
    assert file_backed_module_bytes(net) == 0
    enable_weight_packing(net, file_dir=disk)  # enabling again moves the new ones
    assert file_backed_module_bytes(net) > 0
    enable_weight_packing(net, False)  # off: still readable where they are, nothing packs
    assert packable_bytes(net) == 0
    _run(net, torch.bfloat16)
    assert packed_bytes(net) == 0


def test_a_directory_in_memory_or_missing_keeps_the_weights_in_memory(tmp_path, monkeypatch):
    import diffusion.memory.file_backed as file_backed

    net = _net()
    monkeypatch.setattr(file_backed, "filesystem_type", lambda path: "tmpfs")
    enable_weight_packing(net, file_dir=tmp_path / "in-memory")
    assert file_backed_module_bytes(net) == 0
    blocker = tmp_path / "file"
    blocker.write_text("x")
    enable_weight_packing(net, file_dir=blocker / "weights")
    assert file_backed_module_bytes(net) == 0
    assert packable_bytes(net) == sum(layer.weight.numel() * 4 for layer in net if isinstance(layer, nn.Conv2d))
