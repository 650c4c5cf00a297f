"""Generate demo images through the ordinary pipeline (what the node graph runs):
`load_checkpoint` -> `CLIPHandle.encode` -> `sample` (KSampler defaults: euler, normal) -> `VAEHandle.decode`.

Batches: one prompt and one seed per image; image i gets the noise of `prepare_noise(seed_i)`,
exactly what a single-image KSampler run with that seed gets.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from diffusion.checkpoints.loader import LoadedCheckpoint, load_checkpoint
from diffusion.sampling.noise import prepare_noise
from diffusion.sampling.sample import sample

DEFAULT_SAMPLER = "euler"
DEFAULT_SCHEDULER = "normal"
DEFAULT_STEPS = 20
DEFAULT_CFG = 6.0


def load_demo(path) -> LoadedCheckpoint:
    """Load a demo checkpoint in fp32, the CPU's default precision (`--precision fp32`; on CPUs with
    native bf16 the app's default runs the UNet in bf16). The file stores fp16, and fp16
    convolutions on a CPU are about 20x slower: a second per 64x64 VAE decode."""
    return load_checkpoint(path, dtype=torch.float32)


def encode_prompts(checkpoint: LoadedCheckpoint, prompts: Sequence[str]) -> torch.Tensor:
    """[N, 77, width] conditioning, one row per prompt (as CLIPTextEncode makes it)."""
    return torch.cat([checkpoint.clip.encode(p)[0] for p in prompts])


def _noise(latent: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
    return torch.cat([prepare_noise(latent[i:i + 1], int(seed)) for i, seed in enumerate(seeds)])


def denoise_latents(checkpoint: LoadedCheckpoint, latent: torch.Tensor, prompts: Sequence[str], seeds: Sequence[int], *,
                    steps: int = DEFAULT_STEPS, cfg: float = DEFAULT_CFG, denoise: float = 1.0,
                    noise_mask: torch.Tensor | None = None, negative: str = "",
                    sampler_name: str = DEFAULT_SAMPLER, scheduler: str = DEFAULT_SCHEDULER) -> torch.Tensor:
    """KSampler over a batch with per-image prompts and seeds; returns the sampled (unscaled) latents."""
    if not (len(prompts) == len(seeds) == latent.shape[0]):
        raise ValueError(f"need one prompt and one seed per latent: {len(prompts)} prompts, {len(seeds)} seeds, "
                         f"{latent.shape[0]} latents")
    positive = [[encode_prompts(checkpoint, prompts), {}]]
    negative_cond = encode_prompts(checkpoint, [negative]).expand(len(prompts), -1, -1).contiguous()
    return sample(checkpoint.model, _noise(latent, seeds), positive, [[negative_cond, {}]], cfg=cfg,
                  sampler_name=sampler_name, scheduler=scheduler, steps=steps, latent=latent, denoise=denoise,
                  noise_mask=noise_mask, seed=int(seeds[0]))


def txt2img(checkpoint: LoadedCheckpoint, prompts: Sequence[str], seeds: Sequence[int], *, size: int = 64,
            **options) -> torch.Tensor:
    """IMAGE [N, size, size, 3] in 0..1 for the prompts, from empty latents."""
    factor = checkpoint.vae.downscale
    latent = torch.zeros(len(prompts), 4, size // factor, size // factor)
    return checkpoint.vae.decode(denoise_latents(checkpoint, latent, prompts, seeds, **options))


def img2img(checkpoint: LoadedCheckpoint, images: torch.Tensor, prompts: Sequence[str], seeds: Sequence[int], *,
            denoise: float = 0.7, noise_mask: torch.Tensor | None = None, **options) -> torch.Tensor:
    """VAEEncode -> KSampler(denoise) -> VAEDecode; with `noise_mask` [N, H, W] (1 = repaint) it inpaints."""
    latent = checkpoint.vae.encode(images)
    samples = denoise_latents(checkpoint, latent, prompts, seeds, denoise=denoise, noise_mask=noise_mask, **options)
    return checkpoint.vae.decode(samples)
