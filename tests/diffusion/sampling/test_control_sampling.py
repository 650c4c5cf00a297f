"""ControlNet residuals through the guided denoiser: strength 0 and an out-of-range window change
nothing, bit for bit; in range the residuals reach the UNet; the hint is resized as ComfyUI does;
a ControlNet for another family is refused by name; T2I-Adapters and ControlLoRAs the same way."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from diffusion.models.controlnet.cldm import ControlNetConfig, ControlNetModel
from diffusion.models.controlnet.load import load_controlnet
from diffusion.models.controlnet.make_adapters import write_control_lora, write_t2i_adapter
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.unet import UNetModel
from diffusion.sampling.cfg import GuidedDenoiser
from diffusion.sampling.conds import add_opposite_areas, prepare_conditioning
from diffusion.sampling.control import AppliedControl, ControlError, ControlModel, PreparedControl, merge_control
from diffusion.sampling.denoiser import DiscreteDenoiser
from diffusion.sampling.discrete import DiscreteSchedule

SHAPE = (1, 4, 8, 8)


@pytest.fixture(scope="module")
def parts():
    torch.manual_seed(0)
    unet = UNetModel(UNetConfig.preset("sd15", "tiny")).eval()
    net = ControlNetModel(ControlNetConfig(unet.config, (3, 16, 16, 32, 32, 96, 96, 256, 32))).eval()
    for p in net.zero_convs.parameters():  # zero convs start at 0 in a fresh ControlNet: give them an effect
        torch.nn.init.normal_(p, std=0.5)
    torch.nn.init.normal_(net.middle_block_out[0].weight, std=0.5)
    return unet, ControlModel(net, "controlnet", "sd1", "control_test.safetensors")


def _denoise(unet, control, sigma=5.0, family="sd15"):
    """The guided prediction with `control` on both sides (as ControlNetApplyAdvanced puts it)."""
    schedule = DiscreteSchedule()
    context = torch.randn(1, 7, unet.config.context_dim, generator=torch.Generator().manual_seed(1))
    options = {} if control is None else {"control": control}
    pos = prepare_conditioning([[context, options]], which="positive", latent_shape=SHAPE, schedule=schedule,
                               family=family)
    neg = prepare_conditioning([[context * 0, dict(options)]], which="negative", latent_shape=SHAPE, schedule=schedule,
                               family=family)
    add_opposite_areas(pos, neg)
    guided = GuidedDenoiser(DiscreteDenoiser(unet, "eps", schedule), pos, neg, 7.0)
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(2)) * sigma
    with torch.no_grad():
        return guided(x, torch.tensor([sigma]))


def test_out_of_range_is_bit_identical_and_strength_zero_adds_nothing(parts):
    unet, model = parts
    hint = torch.rand(1, 3, 64, 64)
    plain = _denoise(unet, None)
    # (the apply nodes return the conditioning itself at strength 0: bit-identical; see the node tests)
    assert torch.allclose(_denoise(unet, AppliedControl(model, hint, strength=0.0)), plain, atol=1e-5, rtol=0)
    # sigma 5 is early in the run (about 30%): a window over the last half is not active yet
    assert torch.equal(_denoise(unet, AppliedControl(model, hint, start_percent=0.5, end_percent=1.0)), plain)
    active = _denoise(unet, AppliedControl(model, hint, strength=1.0))
    assert (active - plain).abs().max() > 1e-3


def test_residuals_scale_with_strength_and_chain_adds(parts):
    _, model = parts
    own = {"output": [torch.ones(1, 2, 2, 2)], "middle": [torch.full((1, 2, 1, 1), 2.0)]}
    prev = {"input": [], "middle": [torch.ones(1, 2, 1, 1)], "output": [torch.ones(1, 2, 2, 2), torch.zeros(1)]}
    merged = merge_control(own, prev, 0.5, False, torch.float32)
    assert torch.equal(merged["output"][0], torch.full((1, 2, 2, 2), 1.5))
    assert torch.equal(merged["middle"][0], torch.full((1, 2, 1, 1), 2.0))
    assert len(merged["output"]) == 2


def test_wrong_size_hint_is_centre_cropped_and_nearest_resized(parts):
    _, model = parts
    hint = torch.arange(2 * 3 * 4 * 8, dtype=torch.float32).reshape(2, 3, 4, 8)  # 8 wide, 4 high; latent is square
    prepared = PreparedControl(AppliedControl(model, hint), None, 1e9, 0.0)
    got = prepared.hint_for(torch.zeros(2, 4, 1, 1), 1)  # 8x8 pixels for a 1x1 latent
    crop = hint[:, :, :, 2:6]  # the centred 4x4 square
    want = torch.nn.functional.interpolate(crop, size=(8, 8), mode="nearest-exact")
    assert torch.equal(got, want)


def test_controlnet_for_another_family_is_refused(parts):
    unet, model = parts
    sdxl = ControlModel(model.network, "controlnet", "sdxl", "control_sdxl.safetensors")
    with pytest.raises(ControlError, match=r"'control_sdxl.safetensors' is made for SDXL models.*SD1.x \(sd15\)"):
        _denoise(unet, AppliedControl(sdxl, torch.rand(1, 3, 8, 8)))


# T2I-Adapters add "input" residuals; they fit a UNet with 2 residual blocks per level and channel_mult
# (1, 2, 4, 4), the layout adapters are made for (here with 32 base channels).
ADAPTER_UNET = dataclasses.replace(UNetConfig.preset("sd15", "tiny"), channel_mult=(1, 2, 4, 4),
                                   num_res_blocks=(2, 2, 2, 2), transformer_depth=(1, 1) + (0,) * 6,
                                   transformer_depth_output=(0,) * 9 + (1, 1, 1), transformer_depth_middle=0)


@pytest.fixture(scope="module")
def adapter_parts(tmp_path_factory):
    torch.manual_seed(0)
    unet = UNetModel(ADAPTER_UNET).eval()
    path = tmp_path_factory.mktemp("t2i") / "t2iadapter_canny_test.safetensors"
    write_t2i_adapter(str(path), family="sd15", size="tiny", seed=4, dtype=torch.float32)
    return unet, load_controlnet(path)


def test_t2i_adapter_changes_sampling_and_strength_zero_does_not(adapter_parts):
    unet, adapter = adapter_parts
    hint = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    plain = _denoise(unet, None)
    assert torch.allclose(_denoise(unet, AppliedControl(adapter, hint, strength=0.0)), plain, atol=1e-5, rtol=0)
    active = _denoise(unet, AppliedControl(adapter, hint, strength=0.8))
    assert (active - plain).abs().max() > 1e-3


def test_t2i_features_are_computed_once_per_hint_size(adapter_parts):
    _, adapter = adapter_parts
    prepared = PreparedControl(AppliedControl(adapter, torch.rand(1, 3, 64, 64)), None, 1e9, 0.0)
    x = torch.zeros(2, 4, 8, 8)
    hint = prepared.hint_for(x, 2)
    first = adapter.residuals_of(adapter.network, x, hint, None, None, None, prepared)
    again = adapter.residuals_of(adapter.network, x, hint, None, None, None, prepared)
    assert all(a is None or a.data_ptr() == b.data_ptr() for a, b in zip(first["input"], again["input"], strict=True))
    assert [tuple(v.shape) for v in first["input"] if v is not None] == [(2, 128, 1, 1), (2, 128, 2, 2),
                                                                         (2, 64, 4, 4), (2, 32, 8, 8)]


def test_sdxl_adapter_on_an_sd15_model_is_refused(adapter_parts):
    unet, _ = adapter_parts
    xl = ControlModel(torch.nn.Identity(), "t2i-adapter", "sdxl", "t2i_xl.safetensors")
    with pytest.raises(ControlError, match=r"'t2i_xl.safetensors' is made for SDXL models"):
        _denoise(unet, AppliedControl(xl, torch.rand(1, 3, 64, 64)))


def test_control_lora_is_built_from_the_sampled_model(parts, tmp_path):
    unet, _ = parts
    path = tmp_path / "control-lora-canny.safetensors"
    write_control_lora(str(path), family="sd15", size="tiny", seed=6, dtype=torch.float32)
    lora = load_controlnet(path)
    hint = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    plain = _denoise(unet, None)
    assert torch.allclose(_denoise(unet, AppliedControl(lora, hint, strength=0.0)), plain, atol=1e-5, rtol=0)
    active = _denoise(unet, AppliedControl(lora, hint))
    assert (active - plain).abs().max() > 1e-3
    # the same as a ControlNet made beforehand from the same weights
    whole = ControlModel(lora.network_for(unet), "controlnet", "sd1", "whole.safetensors")
    assert torch.allclose(_denoise(unet, AppliedControl(whole, hint)), active, atol=1e-6, rtol=0)
