"""A VAEHandle the model manager streams block by block decodes and encodes as one whose weights sit whole on
the device: its blocks visit the device through the manager's Streamer, and its `device` is the streaming one."""

from __future__ import annotations

import torch

from diffusion.memory.streaming import Streamer
from diffusion.models.vae.handle import VAEHandle
from diffusion.models.vae.vae import AutoencoderKL, VAEConfig


def test_a_streamed_vae_runs_its_blocks_through_the_streamer(randomize):
    vae = VAEHandle(randomize(AutoencoderKL(VAEConfig.preset("tiny")), seed=5))
    latent = torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(0))
    image = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(1))
    plain_image, plain_latent = vae.decode(latent), vae.encode(image)
    visits = []

    def mover(module, device):
        visits.append(str(device))
        module.to(device)

    vae.patcher.set_streaming(Streamer(vae.model, "cpu", "cpu", mover=mover))
    assert vae.device == torch.device("cpu") and vae.patchers() == [vae.patcher]
    assert torch.allclose(vae.decode(latent), plain_image, atol=1e-6)
    decoded_visits = len(visits)
    assert decoded_visits > 0
    assert torch.allclose(vae.encode(image), plain_latent, atol=1e-6)
    assert len(visits) > decoded_visits
    vae.patcher.set_streaming(None)
    visits.clear()
    vae.decode(latent)
    assert visits == []
