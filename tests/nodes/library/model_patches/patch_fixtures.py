"""Helpers for the model patch tests: a tiny model handle and a guided denoiser over fixed predictions."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from diffusion.memory.patcher import ModelPatcher
from diffusion.models.latent_formats import latent_format_for
from diffusion.models.unet.unet import UNetConfig, UNetModel
from diffusion.sampling.cfg import GuidedDenoiser
from diffusion.sampling.conds import prepare_conditioning
from diffusion.sampling.denoiser import DiscreteDenoiser
from diffusion.sampling.discrete import DiscreteSchedule, schedule_of

SHAPE = (2, 4, 4, 4)


def tiny_unet_handle(seed: int = 0) -> ModelPatcher:
    """A ModelPatcher on a tiny random SD1.5 UNet."""
    config = UNetConfig.preset("sd15", "tiny")
    torch.manual_seed(seed)
    unet = UNetModel(config).eval()
    info = SimpleNamespace(family="sd15", prediction="eps", latent_format=latent_format_for("sd15"))
    return ModelPatcher(unet, model_info=info)


class FixedOutputs(torch.nn.Module):
    """A 'UNet' whose output is `cond_out` for contexts with mean 1 and `uncond_out` otherwise (recording inputs)."""

    def __init__(self, cond_out: torch.Tensor, uncond_out: torch.Tensor) -> None:
        super().__init__()
        self.cond_out, self.uncond_out = cond_out, uncond_out
        self.calls: list[dict] = []

    def forward(self, x, timesteps, context=None, y=None, **extra):
        self.calls.append({"x": x.clone(), "timesteps": timesteps.clone(), "extra": extra})
        is_cond = context.mean(dim=(1, 2)) > 0.5
        picked = [self.cond_out[i % len(self.cond_out)] if c else self.uncond_out[i % len(self.uncond_out)]
                  for i, c in enumerate(is_cond.tolist())]
        return torch.stack(picked)


def fixed_handle(cond_out: torch.Tensor, uncond_out: torch.Tensor) -> ModelPatcher:
    info = SimpleNamespace(family="sd15", prediction="eps", latent_format=latent_format_for("sd15"))
    return ModelPatcher(FixedOutputs(cond_out, uncond_out), model_info=info)


def conds(value: float, batch: int = SHAPE[0], dim: int = 8) -> list:
    return [[torch.full((batch, 3, dim), float(value)), {}]]


def guided(handle, cfg: float, shape=SHAPE, dim: int = 8) -> GuidedDenoiser:
    """The GuidedDenoiser sample.py builds for `handle` (positive context all 1, negative all 0; `dim` wide)."""
    schedule = schedule_of(handle)
    pos = prepare_conditioning(conds(1.0, shape[0], dim), which="positive", latent_shape=shape, schedule=schedule)
    neg = prepare_conditioning(conds(0.0, shape[0], dim), which="negative", latent_shape=shape, schedule=schedule)
    denoiser = DiscreteDenoiser(handle, handle.model_info.prediction, schedule)
    return GuidedDenoiser(denoiser, pos, neg, cfg)


def positive_only(handle, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """The guided denoiser's prediction for one positive context and no negative (cfg 1)."""
    schedule = schedule_of(handle)
    pos = prepare_conditioning([[context, {}]], which="positive", latent_shape=tuple(x.shape), schedule=schedule)
    return GuidedDenoiser(DiscreteDenoiser(handle, "eps", schedule), pos, [], 1.0)(x, sigma)


def table_sigma(index: int = 500) -> torch.Tensor:
    return DiscreteSchedule().sigmas[index].reshape(1)
