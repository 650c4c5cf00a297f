"""Edits of a sigmas tensor, as ComfyUI's sigma nodes make them: flip, set the first, split by denoise,
insert intermediate sigmas, and parse a typed-in list. Each returns a new tensor (the input is unchanged).
"""

from __future__ import annotations

import math
import re

import torch

FLIPPED_ZERO = 0.0001  # what a leading 0 becomes after a flip (a sampler cannot start at sigma 0)
SPACINGS = ("linear", "cosine", "sine")
_NUMBER = re.compile(r"[-+]?\d*\.?\d+")


def flip_sigmas(sigmas: torch.Tensor) -> torch.Tensor:
    """The sigmas in reverse order (noising instead of denoising); a leading 0 becomes 0.0001."""
    flipped = sigmas.flip(0)
    if len(flipped) and flipped[0] == 0:
        flipped[0] = FLIPPED_ZERO
    return flipped


def set_first_sigma(sigmas: torch.Tensor, sigma: float) -> torch.Tensor:
    """A copy with sigmas[0] replaced by `sigma`."""
    if len(sigmas) == 0:
        raise ValueError("there is no first sigma to set: the sigmas are empty")
    changed = sigmas.clone()
    changed[0] = sigma
    return changed


def split_sigmas_denoise(sigmas: torch.Tensor, denoise: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(high, low): low is the last round(steps * denoise) steps, high everything before them.

    They share the sigma where they meet. As in ComfyUI, when no step is kept (round(...) == 0)
    high is empty, not the whole schedule, and low is the final sigma alone.
    """
    steps = max(len(sigmas) - 1, 0)
    kept = round(steps * denoise)
    return sigmas[:-kept], sigmas[-(kept + 1):]


def _spacing(name: str):
    if name == "linear":
        return lambda x: x
    if name == "cosine":
        return lambda x: torch.sin(x * math.pi / 2)
    if name == "sine":
        return lambda x: 1 - torch.cos(x * math.pi / 2)
    raise ValueError(f"unknown spacing {name!r}; expected one of {', '.join(SPACINGS)}")


def extend_intermediate_sigmas(sigmas: torch.Tensor, steps: int, start_at_sigma: float, end_at_sigma: float,
                               spacing: str) -> torch.Tensor:
    """Split every step whose start lies in [end_at_sigma, start_at_sigma] into `steps` smaller ones.

    The new sigmas sit at fractions f(k / steps), k = 1 .. steps - 1, of the way to the next sigma,
    f being the identity (linear), sin(x pi/2) (cosine) or 1 - cos(x pi/2) (sine). A negative
    start_at_sigma means no upper bound.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    upper = math.inf if start_at_sigma < 0 else start_at_sigma
    fractions = _spacing(spacing)(torch.linspace(0, 1, steps + 1)[1:-1])
    values: list[float] = []
    for i in range(len(sigmas) - 1):
        current, following = sigmas[i], sigmas[i + 1]
        values.append(float(current))
        if end_at_sigma <= float(current) <= upper:
            values.extend((fractions * (following - current) + current).tolist())
    if len(sigmas):
        values.append(float(sigmas[-1]))
    return torch.tensor(values, dtype=torch.float32)


def parse_sigmas(text: str) -> torch.Tensor:
    """Every number in `text` ("14.6, 3.2, 0.5, 0") as a float32 sigmas tensor, in order."""
    return torch.tensor([float(number) for number in _NUMBER.findall(text)], dtype=torch.float32)
