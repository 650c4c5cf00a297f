"""Training starts every residual branch at zero (blocks are identities) and weights the noise levels on purpose."""

import pytest
import torch

from diffusion.demo.initialise import zero_residual_branches
from diffusion.demo.model_config import DEMO_UNET, DEMO_VAE
from diffusion.demo.train_unet import HIGH_NOISE_BOOST, MIN_SNR_GAMMA, loss_weights
from diffusion.models.unet.unet import UNetModel
from diffusion.models.vae.vae import AttnBlock, AutoencoderKL, ResnetBlock


def test_vae_blocks_start_as_identities():
    torch.manual_seed(0)
    vae = AutoencoderKL(DEMO_VAE)
    blocks = [m for m in vae.modules() if isinstance(m, ResnetBlock | AttnBlock)]
    x = torch.randn(2, 64, 8, 8)
    assert not torch.allclose(blocks[-1](x), x)  # default init: not an identity
    assert zero_residual_branches(vae) == len(blocks)
    for block in blocks:
        if not hasattr(block, "nin_shortcut"):
            torch.testing.assert_close(block(x), x)


def test_unet_starts_predicting_zero_noise_and_keeps_its_keys():
    torch.manual_seed(0)
    unet = UNetModel(DEMO_UNET)
    keys = {k: v.shape for k, v in unet.state_dict().items()}
    x, t, context = torch.randn(2, 4, 8, 8), torch.tensor([10.0, 900.0]), torch.randn(2, 77, DEMO_UNET.context_dim)
    assert unet(x, t, context).abs().max() > 0
    assert zero_residual_branches(unet) > 10
    assert torch.count_nonzero(unet(x, t, context)) == 0
    assert {k: v.shape for k, v in unet.state_dict().items()} == keys
    assert any(p.abs().sum() > 0 for p in unet.parameters())  # only the branch ends were zeroed


@pytest.mark.parametrize(("snr", "weight"), [
    (100.0, MIN_SNR_GAMMA / 100.0),  # clean samples: min-SNR
    (MIN_SNR_GAMMA, 1.0),
    (1.0, 1.0),
    (0.5, 2.0),  # noisy samples: x0 errors count more
    (1e-3, HIGH_NOISE_BOOST),  # but bounded
])
def test_loss_weights_by_noise_level(snr, weight):
    assert loss_weights(torch.tensor([snr])).item() == pytest.approx(weight)
