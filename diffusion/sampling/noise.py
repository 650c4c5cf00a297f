"""Where randomness comes from, drawn the way ComfyUI draws it so a seed gives the same image.

- `prepare_noise(latent, seed, batch_index)`: the initial noise, on the CPU from a generator
  seeded with `seed` (the same stream `torch.manual_seed(seed)` would give the global generator,
  without touching global state). With `batch_index` (from LatentFromBatch / RepeatLatentBatch)
  one [1, ...] noise is drawn per index 0..max in turn and the requested ones are picked, so an
  image keeps the noise of its index.
- `GeneratorNoiseSampler`: per-step noise of the ancestral samplers from a `torch.Generator` on
  the latent's device seeded with the seed (+1 on the CPU, so it differs from the initial noise).
- `BrownianTreeNoiseSampler`: the SDE samplers' noise, Brownian increments from a torchsde
  Brownian tree built on the CPU with entropy = seed (device independent).
A noise sampler is called as `noise_sampler(sigma, sigma_next)` and returns unit-variance noise
shaped like the latent.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Protocol

import torch

MAX_SEED = 2 ** 64 - 1


class NoiseSampler(Protocol):
    def __call__(self, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor: ...


def check_seed(seed: int) -> int:
    """The seed as an int in ComfyUI's range 0..2^64-1, or a ValueError naming it."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be in 0..{MAX_SEED}, got {seed}")
    return seed


def cpu_generator(seed: int) -> torch.Generator:
    """A CPU generator in the state `torch.manual_seed(seed)` leaves the global one."""
    generator = torch.Generator(device="cpu")
    generator.manual_seed(check_seed(seed))
    return generator


def prepare_noise(latent: torch.Tensor, seed: int, batch_index: Sequence[int] | None = None) -> torch.Tensor:
    """Initial noise shaped like `latent`, drawn on the CPU (see the module docstring)."""
    generator = cpu_generator(seed)
    if batch_index is None:
        return torch.randn(latent.shape, dtype=latent.dtype, generator=generator, device="cpu")
    indices = [int(i) for i in batch_index]
    if len(indices) != latent.shape[0]:
        raise ValueError(f"batch_index has {len(indices)} entries but the latent batch has {latent.shape[0]}")
    if any(i < 0 for i in indices):
        raise ValueError(f"batch_index entries must be >= 0, got {indices}")
    wanted = set(indices)
    drawn: dict[int, torch.Tensor] = {}
    for i in range(max(indices) + 1):
        one = torch.randn([1, *latent.shape[1:]], dtype=latent.dtype, generator=generator, device="cpu")
        if i in wanted:
            drawn[i] = one
    return torch.cat([drawn[i] for i in indices], dim=0)


class GeneratorNoiseSampler:
    """Unit Gaussian noise like `x` from an explicitly seeded generator on x's device."""

    def __init__(self, x: torch.Tensor, seed: int) -> None:
        check_seed(seed)
        if x.device.type == "cpu":
            # Seeding the CPU generator with the seed itself would replay the initial noise.
            seed = (seed + 1) % (MAX_SEED + 1)
        self._generator = torch.Generator(device=x.device)
        self._generator.manual_seed(seed)
        self._shape, self._dtype, self._device = x.shape, x.dtype, x.device

    def __call__(self, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
        return torch.randn(self._shape, dtype=self._dtype, device=self._device, generator=self._generator)


class BrownianTreeNoiseSampler:
    """Noise (W(sigma_next) - W(sigma)) / sqrt(|sigma_next - sigma|) from a CPU Brownian tree.

    The tree spans [sigma_min, sigma_max] and is seeded with `seed`, so the same seed gives the
    same noise whatever the step sizes (the point of a Brownian tree) and whatever the device.
    """

    def __init__(self, x: torch.Tensor, sigma_min: torch.Tensor | float, sigma_max: torch.Tensor | float,
                 seed: int) -> None:
        import torchsde  # imported here so the rest of sampling works without it

        check_seed(seed)
        t0 = torch.as_tensor(sigma_min).detach().cpu().float()
        t1 = torch.as_tensor(sigma_max).detach().cpu().float()
        self._sign = 1.0
        if t1 < t0:
            t0, t1, self._sign = t1, t0, -1.0
        if not t1 > t0:
            raise ValueError(f"a Brownian tree needs sigma_min < sigma_max, got {float(t0)} and {float(t1)}")
        w0 = torch.zeros(x.shape, dtype=torch.float32)
        self._tree = torchsde.BrownianTree(t0, w0, t1, entropy=seed)
        self._dtype, self._device = x.dtype, x.device

    def __call__(self, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
        a = torch.as_tensor(sigma).detach().cpu().float()
        b = torch.as_tensor(sigma_next).detach().cpu().float()
        sign = self._sign
        if b < a:
            a, b, sign = b, a, -sign
        with warnings.catch_warnings():
            # torchsde clamps queries a hair outside [t0, t1] (float round-off) itself, with a warning each time.
            warnings.filterwarnings("ignore", message="Should have t", category=UserWarning)
            increment = self._tree(a, b) * sign
        scale = (b - a).abs().sqrt()
        return (increment / scale).to(dtype=self._dtype, device=self._device)
