"""A ControlNet the model manager streams (its managed patcher streaming) runs block by block through the
streamer instead of being moved to the device whole, and gives the same residuals."""

from __future__ import annotations

import torch

from diffusion.memory.patcher import MANAGED_PATCHER_ATTRIBUTE, ModelPatcher
from diffusion.memory.streaming import Streamer
from diffusion.sampling.control import AppliedControl
from tests.diffusion.sampling.test_control_sampling import _denoise, parts  # noqa: F401  (fixture)


def test_a_streamed_controlnet_computes_through_the_streamer_not_moved_whole(parts, monkeypatch):  # noqa: F811
    unet, model = parts
    hint = torch.rand(1, 3, 64, 64)
    expected = _denoise(unet, AppliedControl(model, hint))
    network = model.network
    patcher = ModelPatcher(network)
    network.__dict__[MANAGED_PATCHER_ATTRIBUTE] = patcher
    moved_blocks = []
    streamer = Streamer(network, torch.device("cpu"), torch.device("cpu"),
                        mover=lambda block, device: moved_blocks.append(str(device)))
    patcher.set_streaming(streamer)
    try:
        monkeypatch.setattr(network, "to", lambda *a, **k: (_ for _ in ()).throw(AssertionError("moved whole")))
        streamed = _denoise(unet, AppliedControl(model, hint))
    finally:
        patcher.set_streaming(None)
        del network.__dict__[MANAGED_PATCHER_ATTRIBUTE]
    assert moved_blocks  # its blocks went through the streamer
    assert torch.allclose(streamed, expected, atol=1e-6, rtol=0)
