"""Using GLIGEN leaves its module as the model manager placed it: the fusers compute in their own device and
dtype (the UNet's activations cast to them and back), never moved or cast in place."""

from __future__ import annotations

import torch

from diffusion.memory.model_manager import ModelManager
from diffusion.memory.patcher import ModelPatcher
from diffusion.models.gligen.boxes import box_inputs, gligen_hooks
from diffusion.models.gligen.gligen import Gligen
from diffusion.models.gligen.make_gligen import random_tensors


def _placement(module: torch.nn.Module) -> list[tuple]:
    return [(name, t.device, t.dtype, t.data_ptr()) for name, t in module.state_dict(keep_vars=True).items()]


def test_a_bf16_unet_call_leaves_the_fp32_gligen_as_the_manager_loaded_it():
    model = Gligen.from_state_dict(random_tensors("tiny", seed=1))
    manager = ModelManager("cpu", budget_bytes=1 << 30)
    patcher = ModelPatcher(model)
    manager.load_models([patcher])
    before = _placement(model)
    embedding = torch.randn(1, 64, generator=torch.Generator().manual_seed(3))
    spec = ("position", model, [(embedding, 4, 2, 1, 3)])
    (patch,) = gligen_hooks(spec, (2, 4, 8, 8)).middle_patch
    x = torch.randn(2, 64, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        got = patch(x.bfloat16(), {"block": ("input", 1), "block_index": 0})  # the UNet computes in bf16
        objs = model.position_net(*box_inputs(model, (2, 4, 8, 8), spec[2]))
        expected = model.fuser(("input", 1), 0)(x.bfloat16().float(), objs[:1].expand(2, -1, -1))
    assert got.dtype == torch.bfloat16 and got.shape == x.shape
    torch.testing.assert_close(got.float(), expected, atol=2e-2, rtol=2e-2)  # computed in fp32, rounded once
    assert _placement(model) == before  # same tensors, same device, same dtype
    assert manager.is_loaded(patcher) and patcher.current_device() == torch.device("cpu")
