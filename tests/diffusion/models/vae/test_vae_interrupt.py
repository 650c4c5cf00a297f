"""An interrupt stops a VAE decode or encode between batch items and between tiles (no timing involved)."""

from __future__ import annotations

import pytest
import torch

from diffusion.models.vae.handle import VAEHandle
from diffusion.models.vae.vae import AutoencoderKL, VAEConfig
from graph.context import Interrupted, InterruptToken, NodeContext
from nodes.library.latent.vae_codec import VAEDecode, VAEDecodeTiled, VAEEncode


class CountingModel:
    """Wraps a VAE model's decode/encode to count calls and set the token after `stop_after` of them."""

    def __init__(self, handle: VAEHandle, token: InterruptToken, stop_after: int) -> None:
        self.calls = 0
        for name in ("decode", "encode"):
            inner = getattr(handle.model, name)

            def counted(x, _inner=inner):
                self.calls += 1
                if self.calls == stop_after:
                    token.set()  # the user presses Interrupt while this item/tile runs
                return _inner(x)

            setattr(handle.model, name, counted)


@pytest.fixture
def handle(randomize):
    return VAEHandle(randomize(AutoencoderKL(VAEConfig.preset("tiny")), seed=5))


def context(token: InterruptToken) -> NodeContext:
    return NodeContext(node_id="1", prompt_id="p", interrupt=token)


def test_item_by_item_gives_the_batched_result(handle):
    latent = torch.randn(3, 4, 4, 4, generator=torch.Generator().manual_seed(1))
    checks = []
    by_items = handle.decode(latent, check_interrupt=lambda: checks.append(1))
    torch.testing.assert_close(by_items, handle.decode(latent), atol=1e-5, rtol=1e-5)
    assert len(checks) == 3  # one check before each batch item


def test_decode_stops_at_the_next_batch_item(handle):
    token = InterruptToken()
    counter = CountingModel(handle, token, stop_after=2)
    latent = torch.randn(5, 4, 4, 4, generator=torch.Generator().manual_seed(2))
    with pytest.raises(Interrupted):
        VAEDecode.run(context(token), samples={"samples": latent}, vae=handle)
    assert counter.calls == 2  # items 3..5 never decoded


def test_encode_stops_at_the_next_batch_item(handle):
    token = InterruptToken()
    counter = CountingModel(handle, token, stop_after=1)
    with pytest.raises(Interrupted):
        VAEEncode.run(context(token), pixels=torch.rand(4, 32, 32, 3), vae=handle)
    assert counter.calls == 1


def test_tiled_decode_stops_at_the_next_tile(handle):
    token = InterruptToken()
    counter = CountingModel(handle, token, stop_after=3)
    latent = torch.randn(1, 4, 32, 32, generator=torch.Generator().manual_seed(3))  # 256x256 pixels
    with pytest.raises(Interrupted):
        VAEDecodeTiled.run(context(token), samples={"samples": latent}, vae=handle, tile_size=64, overlap=0)
    assert counter.calls == 3  # of 16 tiles


def test_no_interrupt_decodes_everything(handle):
    token = InterruptToken()
    counter = CountingModel(handle, token, stop_after=0)
    latent = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(4))
    image = VAEDecodeTiled.run(context(token), samples={"samples": latent}, vae=handle, tile_size=64, overlap=0)[0]
    assert image.shape == (1, 128, 128, 3) and counter.calls == 4


def test_another_packs_vae_gets_no_unknown_keyword():
    class PackVAE:
        def encode(self, pixels):
            return pixels

        def decode(self, latent):
            return latent.movedim(1, -1)

    out = VAEDecode.run(context(InterruptToken()), samples={"samples": torch.zeros(1, 3, 2, 2)}, vae=PackVAE())[0]
    assert out.shape == (1, 2, 2, 3)
