"""Toy problems and toy models for the sampling tests (no UNet, no weights); imported by the tests."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from diffusion.sampling.discrete import DiscreteSchedule


class GaussianDenoiser:
    """The exact denoiser of data ~ N(mu, s^2): D(x, sigma) = (s^2 x + sigma^2 mu) / (s^2 + sigma^2)."""

    def __init__(self, mu: float = 1.5, s: float = 0.5) -> None:
        self.mu, self.s = mu, s
        self.calls = 0

    def __call__(self, x, sigma, **_):
        self.calls += 1
        sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
        s2 = self.s ** 2
        return (s2 * x + sigma ** 2 * self.mu) / (s2 + sigma ** 2)

    def ode_solution(self, x_start, sigma_start: float, sigma_end: float):
        """Exact probability-flow ODE solution from sigma_start to sigma_end."""
        s2 = self.s ** 2
        return self.mu + (x_start - self.mu) * math.sqrt(s2 + sigma_end ** 2) / math.sqrt(s2 + sigma_start ** 2)


@dataclass
class ToyLatentFormat:
    scale_factor: float = 0.5
    channels: int = 4
    rgb_factors: list = field(default_factory=lambda: [[0.3, 0.2, 0.1], [0.1, 0.4, 0.2], [-0.2, 0.1, 0.3],
                                                       [-0.1, -0.2, -0.6]])
    rgb_bias: list | None = None


@dataclass
class ToyInfo:
    prediction: str = "eps"
    family: str = "sd15"
    latent_format: ToyLatentFormat = field(default_factory=ToyLatentFormat)


class ToyModel:
    """A duck-typed diffusion model: `.apply` predicts eps (or v) of Gaussian data N(mu_c, s^2),
    where mu_c is the mean of the text context (so conditioning matters), exactly at table sigmas."""

    def __init__(self, prediction: str = "eps", family: str = "sd15", s: float = 0.5, channels: int = 4) -> None:
        self.model_info = ToyInfo(prediction=prediction, family=family,
                                  latent_format=ToyLatentFormat(channels=channels))
        self.schedule = DiscreteSchedule()
        self.s = s
        self.calls: list[dict] = []
        self.model_sampling = self.schedule

    def apply(self, x_in, timesteps, context=None, y=None):
        self.calls.append({"batch": x_in.shape[0], "shape": tuple(x_in.shape), "timesteps": timesteps.clone(),
                           "context": None if context is None else context.clone(),
                           "y": None if y is None else y.clone()})
        x_in = x_in[:, : self.model_info.latent_format.channels]
        sigma = self.schedule.sigma(timesteps).to(x_in.dtype).reshape(-1, 1, 1, 1)
        x = x_in * (sigma ** 2 + 1) ** 0.5
        mu = context.mean(dim=(1, 2)).reshape(-1, 1, 1, 1) if context is not None else torch.zeros_like(sigma)
        s2 = self.s ** 2
        denoised = (s2 * x + sigma ** 2 * mu) / (s2 + sigma ** 2)
        eps = (x - denoised) / sigma
        if self.model_info.prediction == "eps":
            return eps
        alpha, sigma_vp = 1 / (sigma ** 2 + 1) ** 0.5, sigma / (sigma ** 2 + 1) ** 0.5
        return alpha * eps - sigma_vp * denoised


def cond(value: float, tokens: int = 4, dim: int = 8, **options):
    """A one-entry conditioning list whose context has mean `value`."""
    return [[torch.full((1, tokens, dim), float(value)), dict(options)]]
