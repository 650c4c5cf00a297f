"""Prediction types and sigma tables that override a model's own (ComfyUI's ModelSamplingDiscrete node).

A `ModelSamplingDiscrete` is a `DiscreteSchedule` that also names how the UNet output F
becomes the denoised estimate at noise level sigma (input x, UNet input c_in * x; d = sigma_data,
1 for the discrete SD schedules):
- "eps":        x - sigma * F                                           c_in = 1 / sqrt(sigma^2 + d^2)
- "v":          x d^2 / (sigma^2 + d^2) - F sigma d / sqrt(sigma^2 + d^2)   same c_in
- "edm":        x d^2 / (sigma^2 + d^2) + F sigma d / sqrt(sigma^2 + d^2)   same c_in
- "x0":         F                                                       same c_in
- "img_to_img": F                                               c_in = 1 (the UNet sees x itself)
- "lcm":        c_skip * x + c_out * (x - sigma * F), with s = 10 * timestep, c_skip = 0.25 / (s^2 + 0.25),
                c_out = s / sqrt(s^2 + 0.25); its table keeps every 20th of the 1000 sigmas (50 entries) and
                timestep(sigma) = 20 * index + 19, as LCM was distilled on them.
`zsnr` rescales the table to zero terminal SNR (the last alpha_bar set to 4.897e-08, sigma about 4519).
The continuous tables (ModelSamplingContinuousEDM / ModelSamplingContinuousV) hold 1000 sigmas
spaced evenly in log sigma from sigma_min to sigma_max; the UNet is given the timestep 0.25 ln(sigma)
(EDM) or 2 atan(sigma) / pi (V), and timestep ranges map percent to sigma log-linearly.
It travels in a model clone's options["model_sampling"]; `schedule_of` and the guided denoiser read it.
"""

from __future__ import annotations

import math

import torch

from diffusion.sampling.discrete import DiscreteSchedule

PREDICTIONS = ("eps", "v", "edm", "x0", "img_to_img", "lcm")
CONTINUOUS_STEPS = 1000
LCM_ORIGINAL_TIMESTEPS = 50
LCM_SIGMA_DATA = 0.5
LCM_TIMESTEP_SCALING = 10.0
ZSNR_LAST_ALPHA_BAR = 4.8973451890853435e-08


def rescale_zero_terminal_snr(sigmas: torch.Tensor) -> torch.Tensor:
    """A sigma table shifted and scaled in sqrt(alpha_bar) so that the last step is (almost) pure noise."""
    root = (1.0 / (sigmas.double() ** 2 + 1.0)).sqrt()
    first, last = root[0].clone(), root[-1].clone()
    root = (root - last) * (first / (first - last))
    alpha_bar = root ** 2
    alpha_bar[-1] = ZSNR_LAST_ALPHA_BAR
    return ((1.0 - alpha_bar) / alpha_bar).sqrt().float()


class ModelSamplingDiscrete(DiscreteSchedule):
    """SD's discrete schedule (optionally zero-terminal-SNR) with its own prediction type."""

    def __init__(self, prediction: str = "eps", zsnr: bool = False) -> None:
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction type {prediction!r}; expected one of {', '.join(PREDICTIONS)}")
        super().__init__()
        self.prediction = prediction
        self.sigma_data = 1.0
        self.zsnr = bool(zsnr)
        if self.zsnr:
            self._set_sigmas(rescale_zero_terminal_snr(self.sigmas))

    def _set_sigmas(self, sigmas: torch.Tensor) -> None:
        self.sigmas = sigmas.float()
        self.log_sigmas = sigmas.log().float()

    def calculate_input(self, sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """What the UNet is given for x at `sigma` (broadcast to x)."""
        if self.prediction == "img_to_img":
            return x
        return x / (sigma ** 2 + self.sigma_data ** 2) ** 0.5

    def calculate_denoised(self, sigma: torch.Tensor, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The denoised estimate from the UNet output at `sigma` (broadcast to x)."""
        if self.prediction == "eps":
            return x - output * sigma
        if self.prediction in ("v", "edm"):
            d2 = self.sigma_data ** 2
            sign = -1.0 if self.prediction == "v" else 1.0
            return x * d2 / (sigma ** 2 + d2) + sign * output * sigma * self.sigma_data / (sigma ** 2 + d2) ** 0.5
        if self.prediction in ("x0", "img_to_img"):
            return output
        return self._lcm_denoised(sigma, output, x)

    def _lcm_denoised(self, sigma: torch.Tensor, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        timestep = self.timestep(sigma.reshape(-1)).to(x.device, x.dtype).reshape(sigma.shape)
        scaled = timestep * LCM_TIMESTEP_SCALING
        c_skip = LCM_SIGMA_DATA ** 2 / (scaled ** 2 + LCM_SIGMA_DATA ** 2)
        c_out = scaled / (scaled ** 2 + LCM_SIGMA_DATA ** 2) ** 0.5
        return c_out * (x - output * sigma) + c_skip * x


class ModelSamplingDistilled(ModelSamplingDiscrete):
    """The LCM table: every 20th sigma of the 1000, timesteps still counted 0..999."""

    def __init__(self, prediction: str = "lcm", zsnr: bool = False) -> None:
        super().__init__(prediction, zsnr)
        self.skip_steps = len(self.sigmas) // LCM_ORIGINAL_TIMESTEPS
        full = self.sigmas
        picked = [full[len(full) - 1 - i * self.skip_steps] for i in range(LCM_ORIGINAL_TIMESTEPS)]
        self._set_sigmas(torch.stack(picked[::-1]))

    def timestep(self, sigma: torch.Tensor | float) -> torch.Tensor:
        index = super().timestep(sigma)
        return index * self.skip_steps + (self.skip_steps - 1)

    def timestep_continuous(self, sigma: torch.Tensor | float) -> torch.Tensor:
        return super().timestep_continuous(sigma) * self.skip_steps + (self.skip_steps - 1)

    def sigma(self, timestep: torch.Tensor | float) -> torch.Tensor:
        t = torch.as_tensor(timestep, dtype=torch.float32)
        return super().sigma((t - (self.skip_steps - 1)) / self.skip_steps)

    def percent_to_sigma(self, percent: float) -> float:
        if percent <= 0.0:
            return 999999999.9
        if percent >= 1.0:
            return 0.0
        return float(self.sigma(torch.tensor((1.0 - percent) * 999.0)))


def model_sampling_discrete(sampling: str, zsnr: bool = False) -> ModelSamplingDiscrete:
    """The override for a ModelSamplingDiscrete node choice ("eps", "v_prediction", "lcm", "x0", "img_to_img")."""
    prediction = {"v_prediction": "v"}.get(sampling, sampling)
    if prediction == "lcm":
        return ModelSamplingDistilled("lcm", zsnr)
    return ModelSamplingDiscrete(prediction, zsnr)


class ModelSamplingContinuousEDM(ModelSamplingDiscrete):
    """A continuous-time table between sigma_min and sigma_max; the UNet timestep is 0.25 ln(sigma)."""

    def __init__(self, prediction: str, sigma_min: float, sigma_max: float, sigma_data: float = 1.0) -> None:
        if not 0.0 < sigma_min < sigma_max:
            raise ValueError(f"need 0 < sigma_min < sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}")
        super().__init__(prediction)
        self.sigma_data = float(sigma_data)
        self._set_sigmas(torch.linspace(math.log(sigma_min), math.log(sigma_max), CONTINUOUS_STEPS).exp())

    def timestep(self, sigma: torch.Tensor | float) -> torch.Tensor:
        return 0.25 * torch.as_tensor(sigma, dtype=torch.float32).log()

    def sigma(self, timestep: torch.Tensor | float) -> torch.Tensor:
        return (torch.as_tensor(timestep, dtype=torch.float32) / 0.25).exp()

    def timestep_continuous(self, sigma: torch.Tensor | float) -> torch.Tensor:
        return self.timestep(sigma)

    def percent_to_sigma(self, percent: float) -> float:
        if percent <= 0.0:
            return 999999999.9
        if percent >= 1.0:
            return 0.0
        low, high = math.log(float(self.sigma_min)), math.log(float(self.sigma_max))
        return math.exp((high - low) * (1.0 - percent) + low)


class ModelSamplingContinuousV(ModelSamplingContinuousEDM):
    """The same table; the UNet timestep is 2 atan(sigma) / pi."""

    def timestep(self, sigma: torch.Tensor | float) -> torch.Tensor:
        return torch.as_tensor(sigma, dtype=torch.float32).atan() / math.pi * 2

    def sigma(self, timestep: torch.Tensor | float) -> torch.Tensor:
        return (torch.as_tensor(timestep, dtype=torch.float32) * math.pi / 2).tan()


def model_sampling_continuous_edm(sampling: str, sigma_min: float, sigma_max: float) -> ModelSamplingContinuousEDM:
    """The override for a ModelSamplingContinuousEDM choice ("v_prediction", "edm", "eps")."""
    prediction = {"v_prediction": "v"}.get(sampling, sampling)
    sigma_data = 0.5 if prediction == "edm" else 1.0
    return ModelSamplingContinuousEDM(prediction, sigma_min, sigma_max, sigma_data)
