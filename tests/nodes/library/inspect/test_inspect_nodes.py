"""The inspection nodes (LatentChannelsPreview, SigmasPlot, VAERoundTrip, DenoiseFilmstrip) on a tiny random
SD1.5 UNet (built in memory, run through the real ModelPatcher) and a tiny random VAE written to a file and
loaded by the project's own loader."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from diffusion.checkpoints.loader import load_vae
from diffusion.checkpoints.make_checkpoint import write_vae
from diffusion.memory.patcher import ModelPatcher
from diffusion.models.latent_formats import SD15_FORMAT
from diffusion.models.unet.unet import UNetConfig, UNetModel
from diffusion.sampling.discrete import schedule_of
from diffusion.sampling.noise import prepare_noise
from diffusion.sampling.sample import sample
from diffusion.sampling.sigma_plan import basic_scheduler_sigmas
from graph.context import Interrupted
from nodes.api.runtime import DeviceRequest
from nodes.build import build_registry
from nodes.library.inspect.filmstrip import DenoiseFilmstrip, StripLayout, frame_label, parse_frames
from nodes.library.inspect.inspect_nodes import (
    LatentChannelsPreview,
    SigmasPlot,
    VAERoundTrip,
    channel_ranges,
    normalised,
    psnr,
    round_trip_origins,
)
from nodes.library.inspect.line_chart import linear_ticks, log_ticks
from nodes.library.inspect.plotting import apply_colormap, format_number, text_height
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.sd_fakes import values


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory):
    path = tmp_path_factory.mktemp("inspect_vae") / "tiny_vae.safetensors"
    write_vae(path, "tiny", seed=3, dtype=torch.float32)
    return load_vae(path)


@pytest.fixture(scope="module")
def tiny_model():
    config = UNetConfig.preset("sd15", "tiny")
    torch.manual_seed(0)
    info = SimpleNamespace(family="sd15", prediction="eps", latent_format=SD15_FORMAT, unet_config=config)
    return ModelPatcher(UNetModel(config).eval(), model_info=info)


@pytest.fixture
def ctx(make_ctx, runtime):
    runtime.devices = DeviceRequest(cpu=True, precision="fp32")
    return make_ctx("7")


def conds(seed: int = 0) -> tuple[list, list]:
    generator = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, 77, 64, generator=generator), {}]], [[torch.zeros(1, 77, 64), {}]]


def random_latent(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_nodes_are_registered(runtime):
    registry, _ = build_registry(runtime)
    for class_type in ("LatentChannelsPreview", "SigmasPlot", "DenoiseFilmstrip", "VAERoundTrip"):
        assert class_type in registry
        assert registry.object_info_for(class_type)[class_type]["output"][1 if class_type == "DenoiseFilmstrip"
                                                                         else 0] == "IMAGE"


# ---------------------------------------------------------------------------- LatentChannelsPreview


def test_latent_preview_is_a_deterministic_gray_image_with_full_range(ctx):
    latent = {"samples": random_latent(1, 4, 8, 8)}
    (image,) = values(LatentChannelsPreview, ctx, samples=latent, batch_index=0, normalize="per_channel",
                      colormap="gray", tile_size=64)
    (again,) = values(LatentChannelsPreview, ctx, samples=latent, batch_index=0, normalize="per_channel",
                      colormap="gray", tile_size=64)
    assert image.ndim == 4 and image.shape[0] == 1 and image.shape[-1] == 3
    assert torch.equal(image, again)
    assert image.min() >= 0 and image.max() <= 1
    assert torch.equal(image[..., 0], image[..., 1]) and torch.equal(image[..., 1], image[..., 2])
    assert (image == 0).all(-1).any() and (image == 1).all(-1).any()  # each channel's min is black, max white


def test_latent_preview_colour_map_and_normalisation_change_the_picture(ctx):
    latent = {"samples": random_latent(1, 4, 8, 8) * torch.tensor([1.0, 5.0, 0.2, 1.0]).view(1, 4, 1, 1)}
    gray = values(LatentChannelsPreview, ctx, samples=latent, colormap="gray")[0]
    heat = values(LatentChannelsPreview, ctx, samples=latent, colormap="heat")[0]
    shared = values(LatentChannelsPreview, ctx, samples=latent, colormap="gray", normalize="shared")[0]
    assert gray.shape == heat.shape == shared.shape
    assert not torch.equal(heat[..., 0], heat[..., 2])
    assert not torch.equal(gray, shared)


def test_latent_preview_batch_index_picks_the_image(ctx):
    batch = random_latent(2, 4, 8, 8)
    picked = values(LatentChannelsPreview, ctx, samples={"samples": batch}, batch_index=1)[0]
    alone = values(LatentChannelsPreview, ctx, samples={"samples": batch[1:]}, batch_index=0)[0]
    title = text_height(1)
    assert torch.equal(picked[:, title:], alone[:, title:])  # only the title ("image 1 of 2") differs
    assert not torch.equal(picked, alone)


def test_latent_preview_many_channels_wrap_into_a_grid(ctx):
    four = values(LatentChannelsPreview, ctx, samples={"samples": random_latent(1, 4, 8, 8)})[0]
    sixteen = values(LatentChannelsPreview, ctx, samples={"samples": random_latent(1, 16, 8, 8)})[0]
    assert sixteen.shape[1] > 3 * four.shape[1] // 2  # four rows of tiles instead of one


def test_channel_ranges_and_normalisation():
    latent = torch.stack([torch.full((2, 2), 3.0), torch.tensor([[-1.0, 0.0], [1.0, 2.0]])])
    assert channel_ranges(latent, shared=False) == [(3.0, 3.0), (-1.0, 2.0)]
    assert channel_ranges(latent, shared=True) == [(-1.0, 3.0), (-1.0, 3.0)]
    assert torch.equal(normalised(latent[0], 3.0, 3.0), torch.full((2, 2), 0.5))
    assert torch.allclose(normalised(latent[1], -1.0, 2.0), torch.tensor([[0.0, 1 / 3], [2 / 3, 1.0]]))
    ends = apply_colormap(torch.tensor([0.0, 1.0]), "heat")
    assert torch.equal(ends, torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))


@pytest.mark.parametrize(("samples", "extra", "error", "words"), [
    (torch.zeros(1, 4, 8, 8), {}, TypeError, "'samples' must be a LATENT"),
    ({"samples": torch.zeros(4, 8, 8)}, {}, ValueError, "[batch, channels, height, width]"),
    ({"samples": torch.zeros(2, 4, 8, 8)}, {"batch_index": 2}, ValueError, "'batch_index' is 2"),
    ({"samples": torch.full((1, 4, 8, 8), float("nan"))}, {}, ValueError, "NaN"),
    ({"samples": torch.zeros(1, 4, 8, 8)}, {"colormap": "rainbow"}, ValueError, "'colormap'"),
    ({"samples": torch.zeros(1, 4, 8, 8)}, {"normalize": "global"}, ValueError, "'normalize'"),
])
def test_latent_preview_bad_input(ctx, samples, extra, error, words):
    with pytest.raises(error) as caught:
        values(LatentChannelsPreview, ctx, samples=samples, **extra)
    assert "LatentChannelsPreview" in str(caught.value) and words in str(caught.value)


# ---------------------------------------------------------------------------- SigmasPlot


def test_sigmas_plot_shape_determinism_and_log_scale(ctx, tiny_model):
    sigmas = basic_scheduler_sigmas(schedule_of(tiny_model), "karras", 10)
    linear = values(SigmasPlot, ctx, sigmas=sigmas, width=320, height=200)[0]
    again = values(SigmasPlot, ctx, sigmas=sigmas, width=320, height=200)[0]
    logarithmic = values(SigmasPlot, ctx, sigmas=sigmas, width=320, height=200, log_scale=True)[0]
    assert linear.shape == (1, 200, 320, 3)
    assert torch.equal(linear, again)
    assert not torch.equal(linear, logarithmic)


def test_sigmas_plot_sigmas_input_wins_over_the_scheduler_choice(ctx, tiny_model):
    sigmas = torch.tensor([10.0, 5.0, 2.0, 1.0, 0.0])
    alone = values(SigmasPlot, ctx, sigmas=sigmas)[0]
    both = values(SigmasPlot, ctx, sigmas=sigmas, model=tiny_model, scheduler="karras", steps=30)[0]
    assert torch.equal(alone, both)


def test_sigmas_plot_of_a_scheduler_choice_and_of_all_schedulers(ctx, tiny_model):
    karras = values(SigmasPlot, ctx, model=tiny_model, scheduler="karras", steps=10)[0]
    normal = values(SigmasPlot, ctx, model=tiny_model, scheduler="normal", steps=10)[0]
    every = values(SigmasPlot, ctx, model=tiny_model, scheduler="karras", steps=10, compare_all_schedulers=True)[0]
    assert karras.shape == normal.shape == every.shape
    assert not torch.equal(karras, normal) and not torch.equal(karras, every)
    legend_colours = {(66, 133, 244), (52, 168, 83), (92, 107, 192)}  # the first, fourth and ninth series
    pixels = {tuple(p) for p in (every[0] * 255).round().to(torch.uint8).reshape(-1, 3).tolist()}
    assert legend_colours <= pixels


def test_sigmas_plot_ticks():
    ticks = linear_ticks(0.0, 14.61, 6)
    assert ticks[0] == 0 and ticks[-1] >= 14.61 and ticks == [0, 5, 10, 15]
    assert log_ticks(0.0292, 14.61) == [0.01, 0.1, 1, 10, 100]
    assert log_ticks(2.0, 30.0) == [1, 2, 5, 10, 20, 50, 100]
    assert [format_number(v) for v in (14.6146, 0.0292, 0, 123456.0)] == ["14.6", "0.0292", "0", "1.23e+05"]


@pytest.mark.parametrize(("inputs", "error", "words"), [
    ({}, ValueError, "connect 'sigmas'"),
    ({"sigmas": torch.zeros(0)}, ValueError, "'sigmas' is empty"),
    ({"sigmas": torch.ones(2, 3)}, TypeError, "1-D"),
    ({"sigmas": [3.0, 1.0, 0.0]}, TypeError, "got list"),
    ({"sigmas": torch.tensor([1.0, -1.0])}, ValueError, ">= 0"),
    ({"sigmas": torch.tensor([1.0, float("inf")])}, ValueError, "finite"),
    ({"sigmas": torch.tensor([0.0]), "log_scale": True}, ValueError, "log axis"),
    ({"sigmas": torch.tensor([1.0, 0.0]), "compare_all_schedulers": True}, ValueError, "needs a 'model'"),
    ({"model": "not a model"}, TypeError, "'model' must be a MODEL"),
    ({"sigmas": torch.tensor([1.0, 0.0]), "width": 10}, ValueError, "'width'"),
])
def test_sigmas_plot_bad_input(ctx, inputs, error, words):
    with pytest.raises(error) as caught:
        values(SigmasPlot, ctx, **inputs)
    assert "SigmasPlot" in str(caught.value) and words in str(caught.value)


def test_sigmas_plot_bad_scheduler_settings(ctx, tiny_model):
    with pytest.raises(ValueError, match="'scheduler'"):
        values(SigmasPlot, ctx, model=tiny_model, scheduler="fastest")
    with pytest.raises(ValueError, match="'steps'"):
        values(SigmasPlot, ctx, model=tiny_model, steps=0)


# ---------------------------------------------------------------------------- VAERoundTrip


def test_round_trip_psnr_matches_a_direct_computation(ctx, tiny_vae):
    image = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(1))
    comparison, value = values(VAERoundTrip, ctx, image=image, vae=tiny_vae, difference_gain=4.0)
    reconstruction = tiny_vae.decode(tiny_vae.encode(image))
    mse = np.mean((image.numpy().astype(np.float64) - reconstruction.numpy().astype(np.float64)) ** 2)
    assert value == pytest.approx(10 * np.log10(1.0 / mse), abs=1e-9)
    assert comparison.shape[0] == 1 and comparison.shape[-1] == 3
    (top, left_o), (_, left_r), (_, left_d) = round_trip_origins(64, 64, 4.0)
    panel = comparison[0]
    assert torch.equal(panel[top:top + 64, left_o:left_o + 64], image[0])
    assert torch.equal(panel[top:top + 64, left_r:left_r + 64], reconstruction[0])
    difference = ((image[0] - reconstruction[0]).abs() * 4.0).clamp(0, 1)
    assert torch.equal(panel[top:top + 64, left_d:left_d + 64], difference)


def test_round_trip_crops_like_the_vae_and_uses_rgb_only(ctx, tiny_vae):
    image = torch.rand(2, 70, 67, 4, generator=torch.Generator().manual_seed(2))
    comparison, value = values(VAERoundTrip, ctx, image=image, vae=tiny_vae)
    cropped = image[:, 3:67, 1:65, :3]  # centred crop to 64 x 64
    assert value == pytest.approx(psnr(cropped, tiny_vae.decode(tiny_vae.encode(cropped))), abs=1e-9)
    assert comparison.shape[0] == 2


class IdentityVAE:
    downscale = 8

    def encode(self, image):
        return image.clone()

    def decode(self, latent):
        return latent.clone()


def test_round_trip_of_a_perfect_vae(ctx):
    image = torch.rand(1, 16, 16, 3, generator=torch.Generator().manual_seed(3))
    comparison, value = values(VAERoundTrip, ctx, image=image, vae=IdentityVAE())
    assert value == math.inf
    (top, left), *_ = round_trip_origins(16, 16, 4.0)
    assert torch.equal(comparison[0, top:top + 16, left:left + 16], image[0])


@pytest.mark.parametrize(("inputs", "error", "words"), [
    ({"image": torch.rand(1, 64, 64, 3), "vae": None}, RuntimeError, "'vae' is None"),
    ({"image": torch.rand(1, 64, 64, 3), "vae": "vae.safetensors"}, TypeError, "'vae' must be a VAE"),
    ({"image": torch.rand(64, 64, 3)}, ValueError, "'image' must be an IMAGE"),
    ({"image": torch.rand(1, 4, 4, 3)}, ValueError, "input 'image'"),
    ({"image": torch.rand(1, 64, 64, 3), "difference_gain": 0.0}, ValueError, "'difference_gain'"),
])
def test_round_trip_bad_input(ctx, tiny_vae, inputs, error, words):
    inputs = {"vae": tiny_vae, **inputs}
    with pytest.raises(error) as caught:
        values(VAERoundTrip, ctx, **inputs)
    assert "VAERoundTrip" in str(caught.value) and words in str(caught.value)


# ---------------------------------------------------------------------------- DenoiseFilmstrip


def sampler_args(model, steps: int = 3, batch: int = 1, **extra) -> dict:
    positive, negative = conds()
    return {"model": model, "seed": 11, "steps": steps, "cfg": 4.0, "sampler_name": "euler", "scheduler": "normal",
            "positive": positive, "negative": negative, "latent_image": {"samples": torch.zeros(batch, 4, 8, 8)},
            "denoise": 1.0, **extra}


def test_filmstrip_matches_ksampler_and_its_last_frame_is_the_decoded_result(ctx, tiny_model, tiny_vae):
    args = sampler_args(tiny_model)
    (expected,) = values(KSampler, ctx, **args)
    latent, strip, frames = values(DenoiseFilmstrip, ctx, **args, vae=tiny_vae, frames="0,-1")
    assert torch.equal(latent["samples"], expected["samples"])
    decoded = tiny_vae.decode(expected["samples"])
    assert frames.shape == (2, 64, 64, 3)
    assert torch.equal(frames[-1], decoded[0])
    layout = StripLayout(64, 64, (frame_label(0, 14.6, False), frame_label(2, 0, True)), 1)
    assert strip.shape == (1, *layout.size, 3)
    top, left = layout.origin(1, 0)
    assert torch.equal(strip[0, top:top + 64, left:left + 64], decoded[0])


def test_filmstrip_frames_are_the_decoded_denoised_predictions(ctx, tiny_model, tiny_vae):
    args = sampler_args(tiny_model, steps=3)
    recorded = {}

    def keep(step, x0, x, total):
        recorded[step] = x0.clone()

    latent = args["latent_image"]["samples"]
    sample(tiny_model, prepare_noise(latent, 11), args["positive"], args["negative"], cfg=4.0, sampler_name="euler",
           scheduler="normal", steps=3, latent=latent, seed=11, callback=keep)
    _, strip, frames = values(DenoiseFilmstrip, ctx, **args, vae=tiny_vae, frames="0,1,")
    for index, step in enumerate((0, 1)):
        expected = tiny_vae.decode(recorded[step] / SD15_FORMAT.scale_factor)
        assert torch.allclose(frames[index], expected[0], atol=1e-5)
    assert not torch.allclose(frames[0], frames[1])


def test_filmstrip_with_a_batch_has_one_row_per_image(ctx, tiny_model, tiny_vae, progress):
    latent, strip, frames = values(DenoiseFilmstrip, ctx, **sampler_args(tiny_model, steps=2, batch=2),
                                   vae=tiny_vae, frames="2")
    assert latent["samples"].shape == (2, 4, 8, 8)
    assert frames.shape == (4, 64, 64, 3)  # image 0's two frames, then image 1's
    layout = StripLayout(64, 64, (frame_label(0, 14.6, False), frame_label(1, 0, True)), 2)
    assert strip.shape == (1, *layout.size, 3)
    decoded = tiny_vae.decode(latent["samples"])
    top, left = layout.origin(1, 1)
    assert torch.equal(strip[0, top:top + 64, left:left + 64], decoded[1])
    assert torch.equal(frames[3], decoded[1])
    assert [call[1:] for call in progress.calls] == [(1, 2), (2, 2)]


@pytest.mark.parametrize(("frames", "expected"), [
    ("4", [0, 6, 13, 19]), ("1", [19]), ("20", list(range(20))), ("0,5,10,19", [0, 5, 10, 19]),
    ("19, 0, 5 ,5", [0, 5, 19]), ("7,", [7]), ("-1,", [19]), ("0 -2", [0, 18]), (3, [0, 10, 19]),
])
def test_parse_frames(frames, expected):
    assert parse_frames(frames, 20) == expected


@pytest.mark.parametrize(("frames", "words"), [
    ("", "'frames' must be"), ("  ", "'frames' must be"), ("two", "whole step numbers"), ("1.5", "whole step"),
    ("0", "count must be in 1..20"), ("21", "21 frames"), ("-1", "count must be"), ("0,20", "step 20"),
    ("-21,", "step -21"), (None, "'frames' must be"), (True, "'frames' must be"),
])
def test_parse_frames_refuses(frames, words):
    with pytest.raises(ValueError) as caught:
        parse_frames(frames, 20)
    assert words in str(caught.value)


def test_filmstrip_bad_input_fails_before_sampling(ctx, tiny_model, tiny_vae, progress):
    with pytest.raises(ValueError, match="step 5, which is out of range for 3 steps"):
        values(DenoiseFilmstrip, ctx, **sampler_args(tiny_model), vae=tiny_vae, frames="0,5")
    with pytest.raises(RuntimeError, match="'vae' is None"):
        values(DenoiseFilmstrip, ctx, **sampler_args(tiny_model), vae=None, frames="2")
    with pytest.raises(ValueError, match="runs no steps"):
        values(DenoiseFilmstrip, ctx, **sampler_args(tiny_model, denoise=0.0), vae=tiny_vae, frames="2")
    with pytest.raises(ValueError, match="unknown scheduler"):
        values(DenoiseFilmstrip, ctx, **sampler_args(tiny_model, scheduler="fast"), vae=tiny_vae, frames="2")
    with pytest.raises(TypeError, match="'latent_image' must be a LATENT"):
        values(DenoiseFilmstrip, ctx, **sampler_args(tiny_model, latent_image=torch.zeros(1, 4, 8, 8)),
               vae=tiny_vae, frames="2")
    assert progress.calls == []


def test_filmstrip_stops_when_interrupted(ctx, tiny_model, tiny_vae):
    ctx.interrupt.set()
    with pytest.raises(Interrupted):
        values(DenoiseFilmstrip, ctx, **sampler_args(tiny_model), vae=tiny_vae, frames="2")


def test_filmstrip_validation_reports_bad_frames_before_running(runtime):
    from nodes.api.declare import DeclaredNodeType

    node_type = DeclaredNodeType(DenoiseFilmstrip, runtime)
    assert "frames" in node_type.schema().custom_validated and "steps" in node_type.schema().custom_validated
    assert node_type.validate({"frames": "0,5,19", "steps": 20}, None) == []
    assert node_type.validate({"frames": None, "steps": 20}, None) == []  # linked: checked when it runs
    assert node_type.validate({"frames": "0,25", "steps": None}, None) == []
    [(name, message)] = node_type.validate({"frames": "0,25", "steps": 20}, None)
    assert name == "frames" and "step 25" in message
    [(name, message)] = node_type.validate({"frames": "4", "steps": 0}, None)
    assert name == "steps" and "1..10000" in message


@pytest.mark.slow
def test_filmstrip_and_round_trip_on_a_loaded_checkpoint(ctx, tmp_path):
    """The same guarantees with every handle coming from a checkpoint file through the real loader."""
    from diffusion.checkpoints.loader import load_checkpoint
    from diffusion.checkpoints.make_checkpoint import write_checkpoint

    path = tmp_path / "tiny-sd15.safetensors"
    write_checkpoint(path, "sd15", "tiny", seed=5, dtype=torch.float32)
    loaded = load_checkpoint(path, output_clip=False)
    args = sampler_args(loaded.model, steps=2)
    (expected,) = values(KSampler, ctx, **args)
    latent, _, frames = values(DenoiseFilmstrip, ctx, **args, vae=loaded.vae, frames="1")
    assert torch.equal(latent["samples"], expected["samples"])
    assert torch.equal(frames[0], loaded.vae.decode(expected["samples"])[0])
    image = loaded.vae.decode(expected["samples"])
    _, value = values(VAERoundTrip, ctx, image=image, vae=loaded.vae)
    assert value == pytest.approx(psnr(image, loaded.vae.decode(loaded.vae.encode(image))), abs=1e-9)
