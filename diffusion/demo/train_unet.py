"""Phase 2 of the demo training: the UNet (eps prediction) and the text encoder, jointly.

Conditions match inference exactly: captions are tokenized by the project's CLIP tokenizer as
`CLIPHandle` does for SD1 (77 tokens, start token, end token as padding, no weights) and
encoded to the text tower's last layer after its final layer norm; the noise schedule is SD's
discrete one (scaled-linear betas 0.00085..0.012, 1000 steps), x_t = sqrt(abar) x0 + sqrt(1-abar) eps,
which is what the sampler's c_in scaling feeds the UNet. 10 % of captions are dropped to the
empty prompt, so classifier-free guidance with an empty negative prompt works.

Latents (VAE means times 0.18215) are computed once per scene and kept.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from diffusion.clip_text import ClipTextEncoder
from diffusion.demo.schedule import Budget, learning_rate
from diffusion.demo.shapes import Scene, render_batch, sample_scenes, training_scenes
from diffusion.demo.train_vae import SD1_SCALE_FACTOR, encode_means
from diffusion.prompt_weights import tokenize_prompt
from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.tokenizer import default_tokenizer
from diffusion.unet import UNetModel
from diffusion.vae import AutoencoderKL

SD1_PAD_TOKEN = 49407
CAPTION_DROPOUT = 0.1
MIN_SNR_GAMMA = 5.0


def caption_token_ids(captions: list[str]) -> torch.Tensor:
    """[N, 77] token ids exactly as SD1's CLIPTextEncode builds them for an unweighted prompt."""
    tokenizer = default_tokenizer()
    rows = []
    for caption in captions:
        chunks = tokenize_prompt(caption, tokenizer, pad_token=SD1_PAD_TOKEN).chunks
        if len(chunks) != 1:
            raise ValueError(f"caption longer than one 77-token window: {caption!r}")
        rows.append([int(token) for token, _weight in chunks[0]])
    return torch.tensor(rows, dtype=torch.long)


def encode_text(encoder: ClipTextEncoder, ids: torch.Tensor) -> torch.Tensor:
    """SD1 conditioning [N, 77, width]: the last layer after the final layer norm."""
    return encoder.text_model(input_ids=ids, return_dict=True).last_hidden_state


class LatentCache:
    """Scaled latents of scenes, encoded by the (frozen) VAE the first time each scene is needed."""

    def __init__(self, vae: AutoencoderKL):
        self.vae = vae
        self.latents: dict[Scene, torch.Tensor] = {}

    def get(self, scenes: list[Scene]) -> torch.Tensor:
        missing = list(dict.fromkeys(s for s in scenes if s not in self.latents))
        if missing:
            means = encode_means(self.vae, render_batch(missing)) * SD1_SCALE_FACTOR
            self.latents.update(zip(missing, means, strict=True))
        return torch.stack([self.latents[s] for s in scenes])


class EMA:
    """Exponential moving average of a module's parameters (decay warms up as (1+n)/(10+n))."""

    def __init__(self, module: torch.nn.Module, max_decay: float = 0.999):
        self.shadow = copy.deepcopy(module).requires_grad_(False)
        self.max_decay = max_decay
        self.updates = 0

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.max_decay, (1 + self.updates) / (10 + self.updates))
        for shadow, live in zip(self.shadow.parameters(), module.parameters(), strict=True):
            shadow.lerp_(live, 1.0 - decay)


def diffusion_loss(unet: UNetModel, encoder: ClipTextEncoder, x0: torch.Tensor, ids: torch.Tensor,
                   schedule_abar: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Min-SNR-weighted eps-prediction MSE of one batch."""
    batch = x0.shape[0]
    timesteps = torch.randint(0, len(schedule_abar), (batch,), generator=generator)
    abar = schedule_abar[timesteps].reshape(batch, 1, 1, 1)
    noise = torch.randn(x0.shape, generator=generator)
    noisy = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
    prediction = unet(noisy, timesteps.float(), encode_text(encoder, ids))
    snr = (abar / (1 - abar)).reshape(batch)
    weight = torch.clamp(snr, max=MIN_SNR_GAMMA) / snr
    per_sample = (prediction - noise).pow(2).mean(dim=(1, 2, 3))
    return (weight * per_sample).mean()


def alphas_cumprod(schedule: DiscreteSchedule) -> torch.Tensor:
    """abar_t from the schedule's sigmas: abar = 1 / (1 + sigma^2)."""
    return 1.0 / (1.0 + schedule.sigmas.double() ** 2)


def train_unet(unet: UNetModel, encoder: ClipTextEncoder, vae: AutoencoderKL, budget: Budget, *, seed: int,
               batch_size: int = 32, peak_lr: float = 1e-3,
               on_step: Callable[[int, float, float], None] | None = None) -> tuple[list[float], UNetModel]:
    """Train UNet and text encoder in place until the budget ends; returns (losses, EMA UNet)."""
    pool = training_scenes()
    empty_ids = caption_token_ids([""])[0]
    caption_ids = dict(zip(pool, caption_token_ids([s.caption for s in pool]), strict=True))
    abar = alphas_cumprod(DiscreteSchedule()).float()
    generator = torch.Generator().manual_seed(seed + 1)
    cache = LatentCache(vae)
    unet.train().requires_grad_(True)
    encoder.train().requires_grad_(True)
    params = list(unet.parameters()) + list(encoder.parameters())
    optimizer = torch.optim.AdamW(params, lr=peak_lr, weight_decay=0.0, betas=(0.9, 0.99))
    ema = EMA(unet)
    losses: list[float] = []
    while not budget.done():
        lr = learning_rate(peak_lr, budget.progress(), budget.step, warmup_steps=50)
        for group in optimizer.param_groups:
            group["lr"] = lr
        scenes = sample_scenes(batch_size, seed * 1_000_003 + 500_000 + budget.step, pool)
        dropped = torch.rand(batch_size, generator=generator) < CAPTION_DROPOUT
        ids = torch.stack([empty_ids if drop else caption_ids[s] for s, drop in zip(scenes, dropped, strict=True)])
        loss = diffusion_loss(unet, encoder, cache.get(scenes), ids, abar, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        ema.update(unet)
        budget.step += 1
        losses.append(loss.item())
        if on_step is not None:
            on_step(budget.step, losses[-1], lr)
    unet.eval().requires_grad_(False)
    encoder.eval().requires_grad_(False)
    return losses, ema.shadow.eval()
