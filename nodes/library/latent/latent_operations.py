"""LATENT_OPERATION values and the node that applies one (comfy_extras/nodes_latent.py).

A LATENT_OPERATION is a callable `operation(latent=tensor, **extra) -> tensor` on samples
[B, C, H, W], as in ComfyUI (so operations made by custom node packs work here too).
The built-in ones are small frozen dataclasses: equal settings give equal values, and
they show their settings when printed.

Both built-in operations work on each pixel's channel vector: its length ("luminance") and
its direction are treated apart, as ComfyUI does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodes.api.declare import Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.latent.latent_math import require_samples
from nodes.library.latent.latent_ops import with_samples

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")

# Added to the vector lengths before dividing by them (ComfyUI's values).
SHARPEN_EPSILON = 1e-6
TONEMAP_EPSILON = 1e-10


def gaussian_kernel(size: int, sigma: float, device: Any = None) -> torch.Tensor:
    """ComfyUI's blur kernel [size, size]: exp(-d^2 / (2 sigma^2)) over a grid spanning -1..1, summing to 1."""
    axis = torch.linspace(-1, 1, size, device=device)
    rows, cols = torch.meshgrid(axis, axis, indexing="ij")
    weights = torch.exp(-(rows * rows + cols * cols) / (2.0 * sigma * sigma))
    return weights / weights.sum()


def sharpen_kernel(radius: int, sigma: float, alpha: float, device: Any = None) -> torch.Tensor:
    """The kernel of LatentOperationSharpen: -10 alpha x the Gaussian, its centre raised so it sums to 1."""
    kernel = gaussian_kernel(radius * 2 + 1, sigma, device) * (alpha * -10)
    kernel[radius, radius] = kernel[radius, radius] - kernel.sum() + 1.0
    return kernel


@dataclass(frozen=True)
class SharpenOperation:
    """Unsharp masking of the channel directions (lengths kept), edges reflected; alpha 0 changes nothing."""

    radius: int
    sigma: float
    alpha: float

    def __call__(self, latent: torch.Tensor, **_: Any) -> torch.Tensor:
        if latent.ndim != 4:
            raise ValueError(f"LatentOperationSharpen needs samples [batch, channels, height, width], "
                             f"got {tuple(latent.shape)}")
        if min(latent.shape[2:]) <= self.radius:
            raise ValueError(f"LatentOperationSharpen: sharpen_radius {self.radius} needs a latent larger than "
                             f"{self.radius} pixels on each side, got {latent.shape[2]}x{latent.shape[3]}")
        length = torch.linalg.vector_norm(latent, dim=1, keepdim=True) + SHARPEN_EPSILON
        direction = latent / length
        channels = latent.shape[1]
        kernel = sharpen_kernel(self.radius, self.sigma, self.alpha, latent.device).to(latent.dtype)
        weights = kernel.expand(channels, 1, *kernel.shape)
        padded = F.pad(direction, (self.radius,) * 4, mode="reflect")
        return length * F.conv2d(padded, weights, groups=channels)


@dataclass(frozen=True)
class ReinhardOperation:
    """Reinhard tone mapping of the vector lengths: l -> l / (1 + l / top), top = (mean + 5 std) x multiplier
    of the lengths of each batch entry; the directions are kept. multiplier 0 gives zeros (the limit)."""

    multiplier: float

    def __call__(self, latent: torch.Tensor, **_: Any) -> torch.Tensor:
        if self.multiplier == 0:
            return torch.zeros_like(latent)
        length = torch.linalg.vector_norm(latent, dim=1, keepdim=True) + TONEMAP_EPSILON
        direction = latent / length
        dims = list(range(1, length.ndim))
        top = (torch.std(length, dim=dims, keepdim=True) * 5 + torch.mean(length, dim=dims, keepdim=True))
        top = top * self.multiplier
        scaled = length * (1.0 / top)
        return direction * (scaled / (scaled + 1.0) * top)


class LatentApplyOperation(Node):
    node_id = "LatentApplyOperation"
    category = "latent/advanced/operations"
    experimental = True
    description = "Applies a latent operation (e.g. sharpen, tonemap) to the samples."
    inputs = [Socket("LATENT", "samples"), Socket("LATENT_OPERATION", "operation")]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, operation: Any) -> tuple:
        tensor = require_samples(samples, cls.node_id)
        if not callable(operation):
            raise TypeError(f"{cls.node_id}: input 'operation' must be a LATENT_OPERATION (a callable), "
                            f"got {type(operation).__name__}")
        result = operation(latent=tensor)
        if not isinstance(result, torch.Tensor) or result.shape != tensor.shape:
            got = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
            raise ValueError(f"{cls.node_id}: the operation returned {got} for samples of shape "
                             f"{tuple(tensor.shape)}; it must return samples of the same shape")
        return (with_samples(samples, result),)


class LatentOperationSharpen(Node):
    node_id = "LatentOperationSharpen"
    category = "latent/advanced/operations"
    experimental = True
    description = "A latent operation that sharpens the latent's channel directions with a Gaussian unsharp mask."
    inputs = [
        Int("sharpen_radius", default=9, min=1, max=31, step=1),
        Float("sigma", default=1.0, min=0.1, max=10.0, step=0.1),
        Float("alpha", default=0.1, min=0.0, max=5.0, step=0.01),
    ]
    outputs = [Out("LATENT_OPERATION")]

    @classmethod
    def run(cls, ctx: Any, *, sharpen_radius: int, sigma: float, alpha: float) -> tuple:
        if sharpen_radius < 1 or sigma <= 0:
            raise ValueError(f"{cls.node_id}: sharpen_radius must be at least 1 and sigma above 0, "
                             f"got {sharpen_radius} and {sigma}")
        return (SharpenOperation(int(sharpen_radius), float(sigma), float(alpha)),)


class LatentOperationTonemapReinhard(Node):
    node_id = "LatentOperationTonemapReinhard"
    category = "latent/advanced/operations"
    experimental = True
    description = ("A latent operation that compresses large channel-vector lengths (Reinhard); multiplier 0 gives "
                   "zeros where ComfyUI gives NaN.")
    inputs = [Float("multiplier", default=1.0, min=0.0, max=100.0, step=0.01)]
    outputs = [Out("LATENT_OPERATION")]

    @classmethod
    def run(cls, ctx: Any, *, multiplier: float) -> tuple:
        if multiplier < 0:
            raise ValueError(f"{cls.node_id}: multiplier must be at least 0, got {multiplier}")
        return (ReinhardOperation(float(multiplier)),)


NODES = [LatentApplyOperation, LatentOperationSharpen, LatentOperationTonemapReinhard]
