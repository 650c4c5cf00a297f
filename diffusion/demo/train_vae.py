"""Phase 1 of the demo training: the tiny KL autoencoder on the shapes dataset.

The VAE starts with every residual branch at zero (`initialise.py`). Loss: L1 + MSE on pixels in
-1..1, weighted 4x more on the shape than on the background (the shape is what the quality
measures look at), plus a small KL term so the latent stays smooth.
After training, `normalise_latent_scale` rescales the latent so that latent * 0.18215 (SD1's
scale factor) has unit standard deviation: the `quant_conv` rows of the mean are multiplied by s
and `post_quant_conv` divided by s, which leaves reconstructions unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from diffusion.demo.initialise import zero_residual_branches
from diffusion.demo.schedule import Budget, learning_rate
from diffusion.demo.shapes import render_batch, sample_scenes, training_scenes
from diffusion.models.vae.vae import AutoencoderKL

KL_WEIGHT = 1e-5
SHAPE_WEIGHT = 4.0
SD1_SCALE_FACTOR = 0.18215
INITIAL_LOGVAR = -8.0


def images_to_pixels(images: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """[N, H, W, 3] 0..1 numpy -> [N, 3, H, W] -1..1 torch on `device`."""
    pixels = torch.from_numpy(images).to(device).permute(0, 3, 1, 2) * 2.0 - 1.0
    return pixels.contiguous()


def shape_weights(pixels: torch.Tensor) -> torch.Tensor:
    """Per-pixel loss weights [N, 1, H, W]: 1 on the background (the corner colour), more on the shape."""
    corner = pixels[:, :, :1, :1]
    differs = ((pixels - corner).abs().amax(dim=1, keepdim=True) > 0.02).float()
    return 1.0 + SHAPE_WEIGHT * differs


def vae_loss(vae: AutoencoderKL, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Weighted reconstruction + KL loss of one batch (latents sampled from the posterior)."""
    moments = vae.quant_conv(vae.encoder(pixels))
    mean, logvar = moments.chunk(2, dim=1)
    logvar = logvar.clamp(-30.0, 20.0)
    noise = torch.randn(mean.shape, generator=generator, device=generator.device)
    z = mean + torch.exp(0.5 * logvar) * noise
    recon = vae.decoder(vae.post_quant_conv(z))
    weights = shape_weights(pixels)
    error = (recon - pixels).abs() + (recon - pixels).pow(2)
    recon_loss = (error * weights).mean() / weights.mean()
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()
    return recon_loss + KL_WEIGHT * kl


def train_vae(vae: AutoencoderKL, budget: Budget, *, seed: int, batch_size: int = 8, peak_lr: float = 1e-3,
              device: str = "cpu", on_step: Callable[[int, float, float], None] | None = None) -> list[float]:
    """Train `vae` (already on `device`) in place until the budget ends; returns the loss of every step.

    fp32 on purpose: under bf16 autocast a step is 1.7x faster on this CPU, but the flat colours
    (carried by small differences inside GroupNorm groups) learn slower, and the loss after the
    same wall-clock time was worse (0.28 against 0.19). Peak learning rate 1e-3: at 2e-3 the loss
    stalled near 0.5 for the first thousand steps, at 1e-3 it was 0.12 after them.
    """
    pool = training_scenes()
    generator = torch.Generator(device=device).manual_seed(seed)
    zero_residual_branches(vae)
    with torch.no_grad():  # start with a nearly deterministic posterior, or unit noise drowns the signal
        vae.quant_conv.bias[vae.config.embed_dim:] = INITIAL_LOGVAR
    optimizer = torch.optim.AdamW(vae.parameters(), lr=peak_lr, weight_decay=0.0, betas=(0.9, 0.99))
    vae.train().requires_grad_(True)
    losses: list[float] = []
    while not budget.done():
        lr = learning_rate(peak_lr, budget.progress(), budget.step, warmup_steps=20)
        for group in optimizer.param_groups:
            group["lr"] = lr
        scenes = sample_scenes(batch_size, seed * 1_000_003 + budget.step, pool)
        loss = vae_loss(vae, images_to_pixels(render_batch(scenes), device), generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        budget.step += 1
        losses.append(loss.item())
        if on_step is not None:
            on_step(budget.step, losses[-1], lr)
    vae.eval().requires_grad_(False)
    return losses


@torch.no_grad()
def encode_means(vae: AutoencoderKL, images: np.ndarray, chunk: int = 64) -> torch.Tensor:
    """Latent means [N, 4, h, w] (unscaled, on the VAE's device) of images [N, H, W, 3] 0..1."""
    device = vae.encoder.conv_in.weight.device
    out = []
    for start in range(0, len(images), chunk):
        out.append(vae.encode(images_to_pixels(images[start:start + chunk], device)).float())
    return torch.cat(out).contiguous()


@torch.no_grad()
def normalise_latent_scale(vae: AutoencoderKL, *, seed: int, count: int = 256) -> float:
    """Rescale the latent so `latent * 0.18215` has unit std on the training data; returns the factor used."""
    images = render_batch(sample_scenes(count, seed + 7, training_scenes()))
    std = float(encode_means(vae, images).std())
    if not math.isfinite(std) or std <= 0:
        raise RuntimeError(f"the trained VAE's latents have no spread (std {std}); training failed")
    factor = (1.0 / SD1_SCALE_FACTOR) / std
    embed = vae.config.embed_dim
    vae.quant_conv.weight[:embed] *= factor
    vae.quant_conv.bias[:embed] *= factor
    vae.quant_conv.bias[embed:] += 2.0 * math.log(factor)
    vae.post_quant_conv.weight /= factor
    return factor
