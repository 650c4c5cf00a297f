"""Stable Diffusion's discrete noise schedule (SD1.x, SD2.x and SDXL share it).

DDPM trains on 1000 timesteps with "scaled linear" betas: sqrt(beta) runs linearly from
sqrt(0.00085) to sqrt(0.012). In the k-diffusion view each timestep t has a noise level
sigma_t = sqrt((1 - alphabar_t) / alphabar_t) and a sample at level sigma is x0 + sigma * eps.

Conversions both ways interpolate linearly in log sigma. The UNet, like ComfyUI's, is fed the
*nearest* integer timestep (`timestep`), while `timestep_continuous` is the exact inverse of
`sigma` and is what a round trip uses.
"""

from __future__ import annotations

import torch

NUM_TRAIN_TIMESTEPS = 1000
BETA_START = 0.00085
BETA_END = 0.012


class DiscreteSchedule:
    """The sigma table of a discrete-time diffusion model and conversions from and to timesteps."""

    def __init__(self, beta_start: float = BETA_START, beta_end: float = BETA_END,
                 num_timesteps: int = NUM_TRAIN_TIMESTEPS) -> None:
        if num_timesteps < 2:
            raise ValueError(f"a discrete schedule needs at least 2 timesteps, got {num_timesteps}")
        if not 0.0 < beta_start < beta_end < 1.0:
            raise ValueError(f"need 0 < beta_start < beta_end < 1, got {beta_start}, {beta_end}")
        betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, num_timesteps, dtype=torch.float64) ** 2
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        sigmas = ((1.0 - alphas_cumprod) / alphas_cumprod) ** 0.5
        self.sigmas = sigmas.float()
        self.log_sigmas = sigmas.log().float()

    @property
    def sigma_min(self) -> torch.Tensor:
        return self.sigmas[0]

    @property
    def sigma_max(self) -> torch.Tensor:
        return self.sigmas[-1]

    def sigma(self, timestep: torch.Tensor | float) -> torch.Tensor:
        """Noise level at a (possibly fractional) timestep, interpolating log sigma linearly."""
        t = torch.as_tensor(timestep, dtype=torch.float32)
        t = t.clamp(0, len(self.sigmas) - 1)
        low = t.floor().long()
        high = t.ceil().long()
        w = t.frac()
        log_sigma = (1 - w) * self.log_sigmas[low] + w * self.log_sigmas[high]
        return log_sigma.exp()

    def timestep(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """The nearest integer timestep (in log sigma) as a float tensor: what the UNet is given."""
        sigma = torch.as_tensor(sigma)
        log_sigma = sigma.detach().float().cpu().log()
        distances = (log_sigma.reshape(1, -1) - self.log_sigmas.reshape(-1, 1)).abs()
        return distances.argmin(dim=0).reshape(sigma.shape).float().to(sigma.device)

    def timestep_continuous(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """The fractional timestep whose interpolated sigma is `sigma` (inverse of `sigma`)."""
        sigma = torch.as_tensor(sigma)
        log_sigma = sigma.detach().float().cpu().log().reshape(-1)
        last = len(self.log_sigmas) - 1
        high = torch.searchsorted(self.log_sigmas, log_sigma).clamp(1, last)
        low = high - 1
        lo_val, hi_val = self.log_sigmas[low], self.log_sigmas[high]
        w = ((log_sigma - lo_val) / (hi_val - lo_val)).clamp(0, 1)
        t = low.float() + w
        return t.reshape(sigma.shape).to(sigma.device)

    def percent_to_sigma(self, percent: float) -> float:
        """Sigma at a fraction of the sampling run (0 = start, 1 = end), as ComfyUI's timestep ranges use it."""
        if percent <= 0.0:
            return 999999999.9
        if percent >= 1.0:
            return 0.0
        return float(self.sigma(torch.tensor((1.0 - percent) * (len(self.sigmas) - 1))))


def schedule_of(model) -> DiscreteSchedule:
    """The discrete schedule of a model object: its options' or own `model_sampling` if it has one, else SD's."""
    options = getattr(model, "options", None)
    own = options.get("model_sampling") if isinstance(options, dict) else None
    if not isinstance(own, DiscreteSchedule):
        own = getattr(model, "model_sampling", None)
    if isinstance(own, DiscreteSchedule):
        return own
    return _DEFAULT


_DEFAULT = DiscreteSchedule()
