"""`sample` drives the project's real UNet (tiny configs) through a ModelPatcher: SD1.5, SDXL (with `y`),
and an inpainting UNet (9 input channels)."""

from types import SimpleNamespace

import pytest
import torch

from diffusion.memory.patcher import ModelPatcher
from diffusion.models.latent_formats import latent_format_for
from diffusion.models.unet.unet import UNetConfig, UNetModel
from diffusion.sampling.noise import prepare_noise
from diffusion.sampling.sample import sample


def _patcher(family: str) -> tuple[ModelPatcher, UNetConfig]:
    config = UNetConfig.preset(family, "tiny")
    torch.manual_seed(0)
    unet = UNetModel(config).eval()
    info = SimpleNamespace(family=family, prediction="v" if family == "sd21-v" else "eps",
                           latent_format=latent_format_for(family), unet_config=config)
    return ModelPatcher(unet, model_info=info), config


@pytest.mark.parametrize("family", ["sd15", "sdxl", "sd15-inpaint"])
def test_real_unet_samples(family):
    patcher, config = _patcher(family)
    extra = {}
    if config.adm_in_channels is not None:
        extra = {"pooled_output": torch.randn(1, config.adm_in_channels - 6 * 256)}
    positive = [[torch.randn(1, 77, config.context_dim), dict(extra)]]
    negative = [[torch.zeros(1, 77, config.context_dim), dict(extra)]]
    latent = torch.zeros(1, 4, 8, 8)
    mask = torch.ones(64, 64) if family.endswith("inpaint") else None

    out = sample(patcher, prepare_noise(latent, 5), positive, negative, cfg=4.0, sampler_name="euler_ancestral",
                 scheduler="normal", steps=1, latent=latent, seed=5, noise_mask=mask)
    assert out.shape == latent.shape and torch.isfinite(out).all()
    assert not out.requires_grad
