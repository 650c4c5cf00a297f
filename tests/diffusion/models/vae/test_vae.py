"""VAE: parity with diffusers for encode (mean) and decode, config inference, tiling, latent formats."""

from __future__ import annotations

import pytest
import torch
from diffusers import AutoencoderKL as DiffusersAutoencoderKL
from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

from diffusion.models.latent_formats import SD15_FORMAT, SDXL_FORMAT, latent_format_for
from diffusion.models.vae.tiling import decode_tiled, encode_tiled, tiled_apply
from diffusion.models.vae.vae import AutoencoderKL, VAEConfig, VAEConfigError, vae_config_from_state_dict


def _reference(ours: AutoencoderKL) -> DiffusersAutoencoderKL:
    cfg = ours.config
    levels = len(cfg.ch_mult)
    config = {
        "in_channels": cfg.in_channels,
        "out_channels": cfg.out_channels,
        "down_block_types": ["DownEncoderBlock2D"] * levels,
        "up_block_types": ["UpDecoderBlock2D"] * levels,
        "block_out_channels": [cfg.ch * m for m in cfg.ch_mult],
        "layers_per_block": cfg.num_res_blocks,
        "latent_channels": cfg.z_channels,
        "norm_num_groups": 32,
    }
    checkpoint = {"first_stage_model." + k: v for k, v in ours.state_dict().items()}
    converted = convert_ldm_vae_checkpoint(checkpoint, config)
    reference = DiffusersAutoencoderKL(**config)
    missing, unexpected = reference.load_state_dict(converted, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return reference.eval()


@pytest.fixture
def vae(randomize):
    return randomize(AutoencoderKL(VAEConfig.preset("tiny")), seed=3).eval()


def test_encode_and_decode_match_diffusers(vae):
    reference = _reference(vae)
    gen = torch.Generator().manual_seed(4)
    pixels = torch.rand(2, 3, 32, 40, generator=gen) * 2 - 1
    latent = torch.randn(2, 4, 4, 5, generator=gen)
    with torch.no_grad():
        got_mean, want_mean = vae.encode(pixels), reference.encode(pixels).latent_dist.mean
        got_pixels, want_pixels = vae.decode(latent), reference.decode(latent).sample
    assert got_mean.shape == (2, 4, 4, 5) and got_pixels.shape == (2, 3, 32, 40)
    assert want_mean.abs().max() > 0.05 and want_pixels.abs().max() > 0.05
    assert (got_mean - want_mean).abs().max().item() <= 1e-4
    assert (got_pixels - want_pixels).abs().max().item() <= 1e-4


@pytest.mark.parametrize("size", ["tiny", "full"])
def test_config_is_recovered_from_shapes(size):
    cfg = VAEConfig.preset(size)
    with torch.device("meta"):
        model = AutoencoderKL(cfg)
    shapes = {"first_stage_model." + k: v for k, v in model.state_dict().items()}
    assert vae_config_from_state_dict(shapes, prefix="first_stage_model.") == cfg


def test_full_vae_parameter_count_on_meta_device():
    with torch.device("meta"):
        model = AutoencoderKL(VAEConfig.preset("full"))
    assert sum(p.numel() for p in model.parameters()) == 83_653_863


def test_parameter_names_mirror_checkpoint_keys():
    names = set(AutoencoderKL(VAEConfig.preset("tiny")).state_dict())
    for key in ("encoder.down.0.block.0.conv1.weight", "encoder.down.0.downsample.conv.weight",
                "encoder.mid.attn_1.q.weight", "decoder.up.3.upsample.conv.weight", "decoder.up.0.block.1.norm1.bias",
                "decoder.mid.block_2.conv2.weight", "quant_conv.weight", "post_quant_conv.bias",
                "encoder.down.1.block.0.nin_shortcut.weight"):
        assert key in names, key


def test_not_a_vae_is_a_clear_error():
    with pytest.raises(VAEConfigError, match="missing encoder.conv_in.weight"):
        vae_config_from_state_dict({"input_blocks.0.0.weight": torch.zeros(1)})


def test_tiling_a_pointwise_function_is_exact():
    x = torch.randn(1, 2, 37, 53)

    def upscale(t):
        return torch.nn.functional.interpolate(t * 3 + 1, scale_factor=4.0, mode="nearest")

    tiled = tiled_apply(upscale, x, tile=16, overlap=6, scale=4.0, out_channels=2)
    assert torch.allclose(tiled, upscale(x), atol=1e-5)


def test_tiling_downscale_with_alignment_is_exact():
    x = torch.randn(1, 3, 96, 136)

    def pool(t):
        return torch.nn.functional.avg_pool2d(t, 8)

    tiled = tiled_apply(pool, x, tile=32, overlap=8, scale=1 / 8, out_channels=3, align=8)
    assert torch.allclose(tiled, pool(x), atol=1e-5)


def test_bad_tile_arguments_are_refused():
    with pytest.raises(ValueError, match="overlap < tile"):
        tiled_apply(lambda t: t, torch.zeros(1, 1, 8, 8), tile=8, overlap=8, scale=1.0, out_channels=1)


def test_tiled_vae_single_tile_equals_plain(vae):
    latent = torch.randn(1, 4, 6, 7)
    pixels = torch.rand(1, 3, 48, 56) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(decode_tiled(vae, latent, tile_size=64), vae.decode(latent), atol=1e-5)
        assert torch.allclose(encode_tiled(vae, pixels, tile_size=512), vae.encode(pixels), atol=1e-5)


def test_tiled_vae_many_tiles_is_close_and_seamless(vae):
    gen = torch.Generator().manual_seed(5)
    latent = torch.randn(1, 4, 20, 24, generator=gen) * 0.5
    pixels = torch.rand(1, 3, 160, 192, generator=gen) * 2 - 1
    with torch.no_grad():
        plain_pixels, tiled_pixels = vae.decode(latent), decode_tiled(vae, latent, tile_size=12, overlap=4)
        plain_latent, tiled_latent = vae.encode(pixels), encode_tiled(vae, pixels, tile_size=96, overlap=32)
    assert tiled_pixels.shape == plain_pixels.shape and tiled_latent.shape == plain_latent.shape
    # Tiles see less context (group norms, attention) than the whole image, so a random VAE's
    # tiled result differs somewhat; it must still be strongly correlated with the plain one.
    for tiled, plain in ((tiled_pixels, plain_pixels), (tiled_latent, plain_latent)):
        correlation = torch.corrcoef(torch.stack([tiled.flatten(), plain.flatten()]))[0, 1]
        assert correlation > 0.8


def test_latent_formats():
    assert SD15_FORMAT.scale_factor == 0.18215 and SDXL_FORMAT.scale_factor == 0.13025
    assert latent_format_for("sdxl-refiner") is SDXL_FORMAT and latent_format_for("sd21-v") is SD15_FORMAT
    x = torch.randn(1, 4, 3, 3)
    assert torch.allclose(SDXL_FORMAT.process_out(SDXL_FORMAT.process_in(x)), x)
    assert torch.allclose(SD15_FORMAT.process_in(x), x * 0.18215)
    assert SD15_FORMAT.rgb_factors[3] == (-0.2120, -0.2616, -0.7177)
    assert SDXL_FORMAT.rgb_bias == (0.1084, -0.0175, -0.0011)


def test_preview_rgb_is_the_linear_map():
    latent = torch.zeros(2, 4, 2, 3)
    latent[0, 0] = 1.0
    image = SD15_FORMAT.preview_rgb(latent)
    assert image.shape == (2, 3, 3) and image.dtype == torch.uint8
    expected = torch.tensor([(0.3512 + 1) / 2, (0.2297 + 1) / 2, (0.3227 + 1) / 2]) * 255
    assert torch.equal(image[0, 0], expected.round().to(torch.uint8))
    biased = SDXL_FORMAT.preview_rgb(torch.zeros(1, 4, 1, 1))
    assert torch.equal(biased[0, 0], (((torch.tensor([0.1084, -0.0175, -0.0011]) + 1) / 2) * 255).round().to(torch.uint8))
