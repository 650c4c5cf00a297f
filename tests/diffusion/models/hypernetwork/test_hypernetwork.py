"""A1111 hypernetworks: the layer structure read as ComfyUI reads it, the patch by hand, safe loading."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
import torch.nn.functional as F

from diffusion.checkpoints.weight_kinds import write_kind
from diffusion.models.hypernetwork.hypernetwork import (
    HypernetworkError,
    HypernetworkPatch,
    build_hypernetwork,
    load_hypernetwork,
)
from diffusion.models.hypernetwork.make_hypernetwork import attention_widths, random_hypernetwork


def test_relu_network_and_patch_by_hand():
    data = random_hypernetwork([8], seed=1)
    nets = build_hypernetwork(data, name="h.pt")
    keys_net = data[8][0]
    k = torch.randn(2, 5, 8)
    hidden = F.relu(F.linear(k, keys_net["linear.0.weight"], keys_net["linear.0.bias"]))
    expected_k = k + F.linear(hidden, keys_net["linear.1.weight"], keys_net["linear.1.bias"]) * 0.7
    v_net = data[8][1]
    expected_v = k + F.linear(F.relu(F.linear(k, v_net["linear.0.weight"], v_net["linear.0.bias"])),
                              v_net["linear.1.weight"], v_net["linear.1.bias"]) * 0.7
    n = torch.randn(2, 3, 4)
    # cross-attention: keys = the context, values None = "the context"
    out_n, out_k, out_v = HypernetworkPatch(nets, 0.7)(n, k, None, {})
    assert out_n is n
    torch.testing.assert_close(out_k, expected_k)
    torch.testing.assert_close(out_v, expected_v)
    # self-attention: keys and values None mean n itself; a width with no network is left alone
    same = HypernetworkPatch(nets, 0.7)(n, None, None, {})
    assert same[1] is n and same[2] is n


def test_layer_norm_and_activation_placement():
    nets = build_hypernetwork(random_hypernetwork([4], activation="tanh", layer_norm=True), name="h.pt")
    kinds = [type(m).__name__ for m in nets[4][0]]
    # as ComfyUI counts "last" among all .weight entries (LayerNorms too), the last Linear is activated here
    assert kinds == ["Linear", "Tanh", "LayerNorm", "Linear", "Tanh", "LayerNorm"]
    data = random_hypernetwork([4], activation="linear")
    data["activate_output"] = True
    assert [type(m).__name__ for m in build_hypernetwork(data, name="h.pt")[4][1]] == ["Linear", "Linear"]


def test_written_file_loads_safely(tmp_path):
    path = tmp_path / "h.pt"
    write_kind("hypernetwork", str(path), family="sd15", size="tiny", seed=0, dtype=torch.float16)
    assert sorted(load_hypernetwork(path)) == attention_widths("sd15", "tiny")
    assert attention_widths("sd15", "full") == [320, 640, 768, 1280]


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("true",))


def test_bad_files_name_the_file_and_what_was_expected(tmp_path):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({768: _RunsCode()}))
    with pytest.raises(HypernetworkError, match=r"evil\.pt: refused"):
        load_hypernetwork(evil)
    cut = tmp_path / "cut.pt"
    torch.save(random_hypernetwork([8]), cut)
    cut.write_bytes(cut.read_bytes()[:100])
    with pytest.raises(HypernetworkError, match=r"cut\.pt: corrupt, truncated"):
        load_hypernetwork(cut)
    with pytest.raises(HypernetworkError, match="no integer width keys"):
        build_hypernetwork({"name": "x"}, name="x.pt")
    with pytest.raises(HypernetworkError, match="unsupported activation_func 'gelu2'"):
        build_hypernetwork({**random_hypernetwork([8]), "activation_func": "gelu2"}, name="x.pt")
