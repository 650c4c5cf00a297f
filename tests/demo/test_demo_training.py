"""Training pieces: budgets, conditioning identical to inference, the held-out split in real
training batches, latent normalisation, the checkpoint layout, and the train-demo command."""

import math

import pytest
import torch

from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.checkpoints.detect import detect_model
from diffusion.checkpoints.loader import load_checkpoint
from diffusion.demo import train_unet as train_unet_module
from diffusion.demo import train_vae as train_vae_module
from diffusion.demo.checkpoint_io import save_demo_checkpoint
from diffusion.demo.model_config import DEMO_TEXT_ENCODER, DEMO_UNET, DEMO_VAE
from diffusion.demo.schedule import Budget, learning_rate
from diffusion.demo.shapes import heldout_triples, render_batch, sample_scenes
from diffusion.demo.train_unet import alphas_cumprod, caption_token_ids, encode_text, train_unet
from diffusion.demo.train_vae import SD1_SCALE_FACTOR, encode_means, normalise_latent_scale, train_vae
from diffusion.models.text.clip_text import build_text_encoder
from diffusion.models.unet.unet import UNetModel
from diffusion.models.vae.vae import AutoencoderKL
from diffusion.sampling.discrete import DiscreteSchedule


def test_budget_by_steps_and_by_time():
    budget = Budget(seconds=None, max_steps=3)
    assert not budget.done()
    budget.step = 3
    assert budget.done() and budget.progress() == 1.0
    timed = Budget(seconds=0.0, max_steps=None)
    assert not timed.done()  # at least one step always runs
    timed.step = 1
    assert timed.done()


@pytest.mark.parametrize("kwargs", [{"seconds": None, "max_steps": None}, {"seconds": -1, "max_steps": None},
                                    {"seconds": None, "max_steps": 0}])
def test_bad_budgets_are_refused(kwargs):
    with pytest.raises(ValueError):
        Budget(**kwargs)


def test_learning_rate_warms_up_then_decays():
    assert learning_rate(1.0, 0.0, 0, warmup_steps=10) == pytest.approx(0.1)
    assert learning_rate(1.0, 0.0, 50, warmup_steps=10) == pytest.approx(1.0)
    assert learning_rate(1.0, 1.0, 50, warmup_steps=10) == pytest.approx(0.05)
    assert learning_rate(1.0, 0.5, 50, warmup_steps=10) < 1.0


def test_training_uses_the_sd_discrete_schedule():
    abar = alphas_cumprod(DiscreteSchedule())
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    torch.testing.assert_close(abar, torch.cumprod(1 - betas, 0), rtol=1e-5, atol=1e-7)


def test_training_conditioning_equals_clip_text_encode_after_loading(tmp_path):
    torch.manual_seed(0)
    encoder = build_text_encoder(DEMO_TEXT_ENCODER)
    with torch.no_grad():
        for param in encoder.parameters():
            if param.ndim > 1:
                param.normal_(0, 0.3)
    path = tmp_path / "demo.safetensors"
    save_demo_checkpoint(path, UNetModel(DEMO_UNET), AutoencoderKL(DEMO_VAE), encoder, dtype=torch.float32)
    loaded = load_checkpoint(path)
    for caption in ("a small red circle on an orange background, top left", ""):
        at_inference, _ = loaded.clip.encode(caption)
        with torch.no_grad():
            in_training = encode_text(encoder, caption_token_ids([caption]))
        torch.testing.assert_close(at_inference, in_training)


def test_checkpoint_is_detected_as_sd15_and_stays_small(tmp_path):
    path = tmp_path / "demo.safetensors"
    size = save_demo_checkpoint(path, UNetModel(DEMO_UNET), AutoencoderKL(DEMO_VAE), build_text_encoder(DEMO_TEXT_ENCODER))
    assert size <= 20 * 1024 * 1024
    info = detect_model(load_state_dict(path), path)
    assert info.family == "sd15" and info.prediction == "eps"
    assert info.vae_config.downscale == 8
    assert not (tmp_path / "demo.safetensors.partial").exists()


def test_latent_normalisation_keeps_reconstructions_and_sets_the_sd1_scale():
    torch.manual_seed(1)
    vae = AutoencoderKL(DEMO_VAE).eval()
    images = render_batch(sample_scenes(4, seed=0))
    pixels = train_vae_module.images_to_pixels(images)
    with torch.no_grad():
        before = vae.decode(vae.encode(pixels))
    normalise_latent_scale(vae, seed=0, count=32)
    with torch.no_grad():
        after = vae.decode(vae.encode(pixels))
    torch.testing.assert_close(after, before, rtol=1e-3, atol=1e-4)
    std = float(encode_means(vae, render_batch(sample_scenes(32, seed=7))).std()) * SD1_SCALE_FACTOR
    assert 0.7 < std < 1.4


def test_training_batches_never_contain_heldout_triples(monkeypatch):
    seen = []
    held = heldout_triples()

    def recording_render(scenes):
        seen.extend(scenes)
        return render_batch(scenes)

    monkeypatch.setattr(train_vae_module, "render_batch", recording_render)
    monkeypatch.setattr(train_unet_module, "render_batch", recording_render)
    torch.manual_seed(0)
    vae = AutoencoderKL(DEMO_VAE)
    losses = train_vae(vae, Budget(None, 2), seed=3, batch_size=4)
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    unet_losses, ema, attribute_losses = train_unet(UNetModel(DEMO_UNET), build_text_encoder(DEMO_TEXT_ENCODER), vae,
                                                    Budget(None, 2), seed=3, batch_size=8, text_pretrain_steps=3)
    assert len(unet_losses) == 2 and all(math.isfinite(v) for v in unet_losses)
    assert isinstance(ema, UNetModel)
    assert len(attribute_losses) == 3 + 2 and all(math.isfinite(v) for v in attribute_losses)
    assert len(seen) >= 8 and not any(s.triple in held for s in seen)


@pytest.mark.slow
def test_train_demo_command_writes_a_loadable_checkpoint(tmp_path):
    from app.cli import main

    out = tmp_path / "tiny" / "demo.safetensors"
    assert main(["train-demo", "--minutes", "0.05", "--out", str(out), "--quiet", "--threads", "1"]) == 0
    assert out.is_file() and (tmp_path / "tiny" / "demo.loss.png").is_file()
    assert (tmp_path / "tiny" / "demo.train.json").is_file()
    loaded = load_checkpoint(out)
    assert loaded.info.family == "sd15" and loaded.clip is not None and loaded.vae is not None


@pytest.mark.parametrize("argv", [["--minutes", "0"], ["--minutes", "abc"], ["--vae-steps", "0"], ["--device", "tpu"]])
def test_train_demo_command_refuses_bad_arguments(argv, capsys):
    from app.cli import main

    with pytest.raises(SystemExit) as info:
        main(["train-demo", *argv])
    assert info.value.code == 2
    assert "train-demo" in capsys.readouterr().err


def test_train_demo_function_refuses_bad_arguments(tmp_path):
    from diffusion.demo.train import train_demo

    with pytest.raises(ValueError, match="minutes"):
        train_demo(tmp_path / "x.safetensors", minutes=-1)
    with pytest.raises(ValueError, match="step counts"):
        train_demo(tmp_path / "x.safetensors", minutes=None, vae_steps=3)
    with pytest.raises(ValueError, match="device"):
        train_demo(tmp_path / "x.safetensors", minutes=1, device="tpu")
    assert not (tmp_path / "x.safetensors").exists()


def test_cuda_without_a_gpu_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    from app.cli import main
    from diffusion.demo.train import train_demo

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        train_demo(tmp_path / "x.safetensors", minutes=1, device="cuda")
    assert main(["train-demo", "--device", "cuda", "--out", str(tmp_path / "y.safetensors")]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
