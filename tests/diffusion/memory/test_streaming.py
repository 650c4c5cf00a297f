"""Streaming a model block by block: same output, one block visiting the device at a time, through the manager."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from diffusion.memory.model_manager import ModelManager
from diffusion.memory.patcher import ModelPatcher
from diffusion.memory.streaming import Streamer, largest_unit_bytes, streaming_units
from diffusion.models.unet.unet import UNetConfig, UNetModel


class Recorder:
    def __init__(self):
        self.moves = []

    def __call__(self, module, device):
        self.moves.append((module, str(device)))


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return UNetModel(UNetConfig.preset("sd15", "tiny")).eval()


def _inputs(unet):
    g = torch.Generator().manual_seed(1)
    return torch.randn(1, 4, 8, 8, generator=g), torch.tensor([300.0]), torch.randn(1, 3, unet.config.context_dim, generator=g)


def test_a_unet_streams_in_its_block_order(unet):
    units = streaming_units(unet)
    assert units[0] is unet.time_embed and units[-1] is unet.out and unet.middle_block in units
    assert len(units) == 2 + len(unet.input_blocks) + 1 + len(unet.output_blocks)
    assert 0 < largest_unit_bytes(unet) < sum(p.numel() * 4 for p in unet.parameters())


def test_streamed_output_equals_the_plain_output_and_each_block_goes_there_and_back(unet):
    x, t, context = _inputs(unet)
    with torch.no_grad():
        plain = unet(x, t, context)
        recorder = Recorder()
        streamer = Streamer(unet, "cpu", "cpu", mover=recorder)
        with streamer.active():
            streamed = unet(x, t, context)
    assert torch.equal(streamed, plain)
    forward = [m for m, device in recorder.moves[: 2 * len(streamer.units)]]
    # every unit: to the device before it computes, back right after (then the final safety pass)
    assert forward[0] is forward[1] is unet.time_embed
    assert [d for _, d in recorder.moves[: 2 * len(streamer.units)]] == ["cpu"] * 2 * len(streamer.units)


def test_a_module_without_blocks_cannot_stream():
    with pytest.raises(ValueError, match="Linear cannot be streamed"):
        Streamer(nn.Linear(4, 4), "cpu")


def test_generic_models_split_their_big_children_and_keep_loose_parameters():
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.position = nn.Parameter(torch.randn(4))
            self.layers = nn.ModuleList(nn.Linear(4, 4) for _ in range(4))

        def forward(self, x):
            x = x + self.position
            for layer in self.layers:
                x = layer(x)
            return x

    model = Encoder()
    units = streaming_units(model)
    assert units == list(model.layers)
    x = torch.randn(2, 4)
    with torch.no_grad(), Streamer(model, "cpu", mover=Recorder()).active():
        assert torch.equal(model(x), Encoder.forward(model, x))


def test_the_manager_streams_a_model_too_big_for_the_budget_and_stops_when_it_fits(unet):
    moves = []
    handle = ModelPatcher(unet)
    size = handle.model_size_bytes()
    manager = ModelManager("cuda", budget_bytes=size // 2, mover=lambda p, d: moves.append(str(d)),
                           block_mover=Recorder())
    plan = manager.load_models([handle])
    assert plan.stream == [str(handle.base_key())] and handle.streaming
    assert handle.current_device() == torch.device("cuda") and not manager.is_loaded(handle)
    assert manager.resident() == [{"model": "UNetModel", "family": None, "bytes": size, "placement": "streamed"}]
    manager.budget_bytes = size * 2
    plan = manager.load_models([handle])
    assert plan.load == [str(handle.base_key())] and not handle.streaming and manager.is_loaded(handle)
    assert moves == ["cpu", "cuda"]
    manager.unload_all()
    assert manager.resident() == [] and not handle.streaming


def test_a_streamed_patcher_runs_its_patches(unet):
    x, t, context = _inputs(unet)
    handle = ModelPatcher(unet)
    patched = handle.clone()
    name = "out.2.bias"
    patched.add_patches({name: ("diff", (torch.ones_like(dict(unet.named_parameters())[name]),))})
    with torch.no_grad():
        expected = patched(x, t, context)
        patched.set_streaming(Streamer(unet, "cpu", mover=Recorder()))
        try:
            assert torch.equal(patched(x, t, context), expected)
        finally:
            patched.set_streaming(None)
    assert torch.allclose(expected - handle(x, t, context), torch.ones(()), atol=1e-5)
