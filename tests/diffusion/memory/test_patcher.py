"""ModelPatcher: clones share weights, patches never touch the base, caches stay honest."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from diffusion.memory.patcher import ModelPatcher, PatchError, lora_delta


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 5 * 5, 6))


def _lora(out_features, in_features, rank=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(out_features, rank, generator=g), torch.randn(rank, in_features, generator=g)


def test_clone_shares_the_same_tensors():
    base = ModelPatcher(_model(), model_info={"family": "x"})
    clone = base.clone()
    assert clone.model is base.model and clone.is_clone(base)
    assert clone.model_info == {"family": "x"}
    assert not base.is_clone(ModelPatcher(_model()))


def test_patched_weight_is_base_plus_scaled_product_and_base_is_untouched():
    patcher = ModelPatcher(_model())
    before = {k: v.clone() for k, v in patcher.model.state_dict().items()}
    params_before = dict(patcher.model.named_parameters())
    up, down = _lora(6, 100)
    clone = patcher.clone()
    applied = clone.add_patches({"2.weight": ("lora", (up, down, 1.0, None)), "nope.weight": ("diff", (up,))}, 0.8)
    assert applied == {"2.weight"}
    weight = clone.patched_weights()["2.weight"]
    expected = before["2.weight"] + 0.8 * (1.0 / 2) * (up @ down)
    assert torch.allclose(weight, expected, atol=1e-6)
    x = torch.randn(2, 3, 5, 5)
    with torch.no_grad():
        base_out = patcher.model(x)
    patched_out = clone(x)
    assert not torch.allclose(patched_out, base_out)
    # running the clone changed nothing in the base module
    assert all(torch.equal(v, before[k]) for k, v in patcher.model.state_dict().items())
    assert all(p is params_before[n] for n, p in patcher.model.named_parameters())
    assert torch.equal(patcher(x), base_out)
    assert patcher.patches == {}


def test_strength_zero_equals_base():
    patcher = ModelPatcher(_model())
    up, down = _lora(6, 100)
    clone = patcher.clone()
    clone.add_patches({"2.weight": ("lora", (up, down, None, None))}, 0.0)
    x = torch.randn(1, 3, 5, 5)
    assert torch.equal(clone(x), patcher(x))


def test_conv_locon_delta_and_tucker_mid():
    up = torch.randn(4, 2, 1, 1)
    down = torch.randn(2, 3, 3, 3)
    delta = lora_delta(up, down, 1.0, None, torch.Size([4, 3, 3, 3]))
    expected = (up.flatten(1) @ down.flatten(1)).reshape(4, 3, 3, 3) * 0.5
    assert torch.allclose(delta, expected)
    mid = torch.randn(2, 2, 3, 3)
    down_1x1 = torch.randn(2, 3, 1, 1)
    delta = lora_delta(up, down_1x1, None, mid, torch.Size([4, 3, 3, 3]))
    # reference: explicit sums over ranks
    ref = torch.zeros(4, 3, 3, 3)
    for o in range(4):
        for i in range(3):
            for r in range(2):
                for j in range(2):
                    ref[o, i] += up[o, r, 0, 0] * mid[r, j] * down_1x1[j, i, 0, 0]
    assert torch.allclose(delta, ref, atol=1e-5)
    with pytest.raises(PatchError, match="cannot become"):
        lora_delta(up, down, 1.0, None, torch.Size([4, 3, 5, 5]))


def test_bad_patches_are_refused_before_anything_is_added():
    patcher = ModelPatcher(_model())
    up, down = _lora(5, 100)
    with pytest.raises(PatchError, match="2.weight"):
        patcher.add_patches({"0.weight": ("diff", (torch.zeros(4, 3, 3, 3),)), "2.weight": ("lora", (up, down, None, None))})
    assert patcher.patches == {}
    with pytest.raises(PatchError, match="unknown patch kind"):
        patcher.add_patches({"2.weight": ("loha", ())})
    with pytest.raises(PatchError, match="diff patch shape"):
        patcher.add_patches({"2.weight": ("diff", (torch.zeros(3),))})


def test_diff_patches_stack_with_strengths():
    patcher = ModelPatcher(_model())
    base = patcher.model.get_parameter("2.bias").detach().clone()
    clone = patcher.clone()
    clone.add_patches({"2.bias": ("diff", (torch.ones(6),))}, 0.5)
    clone.add_patches({"2.bias": ("diff", (torch.ones(6),))}, 0.25)
    assert torch.allclose(clone.patched_weights()["2.bias"], base + 0.75)
    # a clone of the clone keeps the patches; adding to it does not change its parent
    grandchild = clone.clone()
    grandchild.add_patches({"2.bias": ("diff", (torch.ones(6),))}, 1.0)
    assert len(clone.patches["2.bias"]) == 2 and len(grandchild.patches["2.bias"]) == 3


def test_cache_follows_base_dtype_and_device_changes():
    patcher = ModelPatcher(_model())
    clone = patcher.clone()
    clone.add_patches({"2.bias": ("diff", (torch.ones(6),))}, 1.0)
    assert clone.patched_weights()["2.bias"].dtype == torch.float32
    patcher.model.to(torch.float64)
    assert clone.patched_weights()["2.bias"].dtype == torch.float64


def test_move_frees_every_clones_patched_cache():
    patcher = ModelPatcher(_model())
    clone = patcher.clone()
    clone.add_patches({"2.bias": ("diff", (torch.ones(6),))}, 1.0)
    clone.patched_weights()
    assert clone._cache
    patcher.move_to("cpu")
    assert not clone._cache
    assert torch.allclose(clone.patched_weights()["2.bias"], patcher.model.get_parameter("2.bias") + 1)


def test_exception_inside_patched_restores_parameters():
    patcher = ModelPatcher(_model())
    original = patcher.model.get_parameter("2.bias")
    clone = patcher.clone()
    clone.add_patches({"2.bias": ("diff", (torch.ones(6),))}, 1.0)
    with pytest.raises(RuntimeError), clone.patched() as module:
        assert module.get_parameter("2.bias") is not original
        raise RuntimeError("boom")
    assert patcher.model.get_parameter("2.bias") is original


def test_fingerprint_tracks_patches():
    patcher = ModelPatcher(_model())
    a, b = patcher.clone(), patcher.clone()
    assert a.fingerprint() == patcher.fingerprint()
    a.add_patches({"2.bias": ("diff", (torch.ones(6),))}, 1.0, source="lora-x")
    b.add_patches({"2.bias": ("diff", (torch.ones(6),))}, 0.5, source="lora-x")
    assert len({patcher.fingerprint(), a.fingerprint(), b.fingerprint()}) == 3
    c = patcher.clone()
    c.add_patches({"2.bias": ("diff", (torch.zeros(6),))}, 1.0, source="lora-x")
    assert c.fingerprint() == a.fingerprint()  # same source and strength: same key
    assert ModelPatcher(_model()).fingerprint() != patcher.fingerprint()


def test_concurrent_clones_do_not_see_each_others_patches():
    patcher = ModelPatcher(_model())
    clones = []
    for value in (1.0, -1.0):
        clone = patcher.clone()
        clone.add_patches({"2.bias": ("diff", (torch.full((6,), value),))}, 1.0)
        clones.append(clone)
    x = torch.randn(1, 3, 5, 5)
    expected = [c(x) for c in clones]
    errors = []

    def worker(index):
        for _ in range(30):
            if not torch.equal(clones[index](x), expected[index]):
                errors.append(index)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_size_in_bytes():
    patcher = ModelPatcher(_model())
    assert patcher.model_size_bytes() == sum(p.numel() * 4 for p in patcher.model.parameters())


def test_a_patcher_and_a_module_that_keeps_one_deep_copy_and_pickle():
    import copy
    import pickle

    model = nn.Linear(2, 2)
    patcher = ModelPatcher(model)
    patcher.source = "/models/x.safetensors"
    model.__dict__["_managed_patcher"] = patcher  # as nodes.api.model_services.managed_patcher keeps it
    twin = copy.deepcopy(patcher)  # a new base: its own lock, the same weights, the same source
    assert twin.model is not model and twin.base_key() != patcher.base_key() and twin.source == patcher.source
    assert torch.equal(twin.model.weight, model.weight)
    copied = copy.deepcopy(model)
    assert copied._managed_patcher.model is copied
    restored = pickle.loads(pickle.dumps(patcher))
    assert restored.source == "/models/x.safetensors" and torch.equal(restored.model.weight, model.weight)
