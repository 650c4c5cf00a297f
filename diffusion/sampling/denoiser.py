"""The thin wrapper that turns a UNet into a denoiser D(x, sigma) for the samplers.

For an input x = x0 + sigma * eps the UNet sees c_in * x (unit variance) and the nearest
discrete timestep; its output F is turned into the denoised estimate c_skip * x + c_out * F:
- eps prediction: c_skip = 1, c_out = -sigma, c_in = 1 / sqrt(sigma^2 + 1)
- v prediction:   c_skip = 1 / (sigma^2 + 1), c_out = -sigma / sqrt(sigma^2 + 1), same c_in
(sigma_data = 1, as in SD). The inpainting wrapper `InpaintDenoiser` keeps the unmasked part
pinned to the (noised) original latent, as ComfyUI's KSamplerX0Inpaint does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from diffusion.sampling.discrete import DiscreteSchedule

PREDICTIONS = ("eps", "v")


def _column(sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """sigma shaped to broadcast over x: [B] -> [B, 1, 1, ...] (a scalar stays a scalar)."""
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if sigma.ndim == 0:
        return sigma
    return sigma.reshape(sigma.shape[0], *([1] * (x.ndim - 1)))


def scalings(sigma: torch.Tensor, prediction: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(c_skip, c_out, c_in) for `prediction` ("eps" or "v") at noise level sigma."""
    c_in = 1 / (sigma ** 2 + 1) ** 0.5
    if prediction == "eps":
        return torch.ones_like(sigma), -sigma, c_in
    if prediction == "v":
        return 1 / (sigma ** 2 + 1), -sigma * c_in, c_in
    raise ValueError(f"unknown prediction type {prediction!r}; expected one of {', '.join(PREDICTIONS)}")


class DiscreteDenoiser:
    """D(x, sigma, context=..., y=...) around `apply(x_in, timesteps, context=..., y=...)`.

    `concat` (optional) is concatenated to the scaled input along channels before the UNet
    call (the mask and masked latent of inpainting models).
    """

    def __init__(self, apply: Callable[..., torch.Tensor], prediction: str, schedule: DiscreteSchedule) -> None:
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction type {prediction!r}; expected one of {', '.join(PREDICTIONS)}")
        self.apply = apply
        self.prediction = prediction
        self.schedule = schedule

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor | None = None,
                 y: torch.Tensor | None = None, concat: torch.Tensor | None = None,
                 hooks: object | None = None) -> torch.Tensor:
        """`hooks` (a `UNetHooks`, optional) go to the UNet call; an `apply` without hooks never sees the keyword."""
        sigma_col = _column(sigma, x)
        c_skip, c_out, c_in = scalings(sigma_col, self.prediction)
        x_in = x * c_in
        if concat is not None:
            x_in = torch.cat([x_in, concat.to(dtype=x_in.dtype, device=x_in.device)], dim=1)
        timesteps = self.schedule.timestep(torch.as_tensor(sigma).reshape(-1)).to(x.device)
        if timesteps.numel() == 1 and x.shape[0] > 1:
            timesteps = timesteps.expand(x.shape[0])
        extra = {"hooks": hooks} if hooks is not None else {}
        output = self.apply(x_in, timesteps, context=context, y=y, **extra)
        if output.shape != x.shape:
            raise ValueError(f"the model returned shape {tuple(output.shape)} for an input of shape {tuple(x.shape)}")
        return c_skip * x + c_out * output.to(x.dtype)


class InpaintDenoiser:
    """Pins the unmasked latent (mask == 0) to the original, noised to the current sigma.

    mask is 1 where the sampler may change the latent and 0 where the original is kept;
    `noise` is the noise that noises the original (the initial noise, or a separate draw for ddim).
    `mask_function(sigma, mask, extra_options)` (a model's denoise_mask_function, optional) gives the
    mask of each call in place of `mask`; `last_mask` is the mask the latest call used.
    """

    def __init__(self, inner: Callable[..., torch.Tensor], latent_image: torch.Tensor, mask: torch.Tensor,
                 noise: torch.Tensor, mask_function: Callable[..., torch.Tensor] | None = None,
                 extra_options: dict | None = None) -> None:
        self.inner = inner
        self.latent_image = latent_image
        self.mask = mask
        self.keep = 1.0 - mask
        self.noise = noise
        self.mask_function = mask_function
        self.extra_options = extra_options or {}
        self.last_mask = mask

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **kwargs) -> torch.Tensor:
        mask, keep = self.mask, self.keep
        if self.mask_function is not None:
            sigma_b = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1).expand(x.shape[0])
            mask = self.mask_function(sigma_b, self.mask, dict(self.extra_options))
            keep = 1.0 - mask
            self.last_mask = mask
        sigma_col = _column(sigma, x)
        original_noised = self.latent_image + self.noise * sigma_col
        x = x * mask + original_noised * keep
        denoised = self.inner(x, sigma, **kwargs)
        return denoised * mask + self.latent_image * keep
