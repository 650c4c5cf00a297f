"""Train the whole demo model: VAE first, then UNet + text encoder, then write one SD1 checkpoint.

`train_demo(out, minutes=..., seed=...)` splits the time budget (VAE_SHARE to the VAE, the rest
to the UNet phase, whose first steps also encode the latents they need); fixed step counts
(`vae_steps`, `unet_steps`) make a run exactly reproducible on the same machine. Writes the
checkpoint at `out`, the loss curves at `<out without suffix>.loss.png` and the run summary
(steps, losses, seconds) at `<out without suffix>.train.json`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from diffusion.demo.checkpoint_io import save_demo_checkpoint
from diffusion.demo.loss_plot import save_loss_curves
from diffusion.demo.model_config import DEMO_TEXT_ENCODER, DEMO_UNET, DEMO_VAE
from diffusion.demo.schedule import Budget
from diffusion.demo.train_unet import train_unet
from diffusion.demo.train_vae import normalise_latent_scale, train_vae
from diffusion.models.text.clip_text import build_text_encoder
from diffusion.models.unet.unet import UNetModel
from diffusion.models.vae.vae import AutoencoderKL

VAE_SHARE = 0.5


@dataclass
class TrainingSummary:
    """What a run did (also written as JSON next to the checkpoint)."""

    out: str
    seed: int
    device: str
    vae_steps: int
    unet_steps: int
    vae_seconds: float
    unet_seconds: float
    final_vae_loss: float
    final_unet_loss: float
    latent_rescale: float
    file_bytes: int


def _tail_mean(values: list[float], count: int = 50) -> float:
    tail = values[-count:]
    return sum(tail) / len(tail) if tail else float("nan")


def _bar(total_seconds: float | None, desc: str, disable: bool):
    return tqdm(total=None if total_seconds is None else round(total_seconds), desc=desc, unit="s",
                disable=disable, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}s {postfix}")


def _runner(budget: Budget, desc: str, quiet: bool):
    bar = _bar(budget.seconds, desc, quiet)

    def on_step(step: int, loss: float, lr: float) -> None:
        bar.n = min(bar.total or 0, budget.elapsed()) if bar.total else step
        bar.set_postfix_str(f"step {step} loss {loss:.4f} lr {lr:.2e}", refresh=True)

    return bar, on_step


def check_training_device(device: str) -> None:
    """ValueError unless `device` is "cpu", or "cuda" on a machine where CUDA works."""
    if device == "cpu":
        return
    if device != "cuda":
        raise ValueError(f"unknown training device {device!r}; expected cpu or cuda")
    if not torch.cuda.is_available():
        raise ValueError("device cuda was asked for, but this PyTorch build sees no CUDA GPU; use --device cpu")


def train_demo(out: str | Path, *, minutes: float | None = 40.0, seed: int = 0, device: str = "cpu",
               vae_steps: int | None = None, unet_steps: int | None = None, threads: int | None = 2,
               quiet: bool = False) -> TrainingSummary:
    """Train and save the demo model; see the module docstring. Raises ValueError on bad arguments."""
    if minutes is None and (vae_steps is None or unet_steps is None):
        raise ValueError("give a time budget (minutes) or both step counts")
    if minutes is not None and minutes <= 0:
        raise ValueError(f"minutes must be > 0, got {minutes}")
    check_training_device(device)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    out = Path(out)
    seconds = None if minutes is None else minutes * 60.0
    vae = AutoencoderKL(DEMO_VAE).to(device)
    unet = UNetModel(DEMO_UNET).to(device)
    encoder = build_text_encoder(DEMO_TEXT_ENCODER).to(device)

    started = time.monotonic()
    vae_budget = Budget(None if seconds is None else seconds * VAE_SHARE, vae_steps)
    bar, on_step = _runner(vae_budget, "VAE", quiet)
    vae_losses = train_vae(vae, vae_budget, seed=seed, device=device, on_step=on_step)
    bar.close()
    rescale = normalise_latent_scale(vae, seed=seed)
    vae_seconds = time.monotonic() - started

    remaining = None if seconds is None else max(1.0, seconds - (time.monotonic() - started))
    unet_budget = Budget(remaining, unet_steps)
    bar, on_step = _runner(unet_budget, "UNet", quiet)
    unet_losses, ema_unet, attribute_losses = train_unet(unet, encoder, vae, unet_budget, seed=seed,
                                                         device=device, on_step=on_step)
    bar.close()
    unet_seconds = time.monotonic() - started - vae_seconds

    metadata = {"latentgraph.seed": str(seed), "latentgraph.vae_steps": str(vae_budget.step),
                "latentgraph.unet_steps": str(unet_budget.step)}
    size = save_demo_checkpoint(out, ema_unet, vae, encoder, metadata)
    stem = out.with_suffix("")
    save_loss_curves(f"{stem}.loss.png",
                     {"VAE": vae_losses, "UNet": unet_losses, "Text attributes": attribute_losses})
    summary = TrainingSummary(
        out=str(out), seed=seed, device=device, vae_steps=vae_budget.step, unet_steps=unet_budget.step,
        vae_seconds=round(vae_seconds, 1), unet_seconds=round(unet_seconds, 1),
        final_vae_loss=_tail_mean(vae_losses), final_unet_loss=_tail_mean(unet_losses),
        latent_rescale=rescale, file_bytes=size,
    )
    Path(f"{stem}.train.json").write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary
