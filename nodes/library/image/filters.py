"""Pixel filters of the post-processing nodes: blend modes, gaussian blur, sharpening, palette quantisation.

Images are channel-last IMAGE tensors [B, H, W, C] in 0..1. The formulas are ComfyUI's
(comfy_extras/nodes_post_processing.py), re-derived here.
"""

from __future__ import annotations

import math

from nodes.api.lazy import lazy_import

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
np = lazy_import("numpy")
Image = lazy_import("PIL.Image")

BLEND_MODES = ("normal", "multiply", "screen", "overlay", "soft_light", "difference")
DITHER_METHODS = ("none", "floyd-steinberg", "bayer-2", "bayer-4", "bayer-8", "bayer-16")


def _soft_light_lift(x: torch.Tensor) -> torch.Tensor:
    """The W3C soft-light helper D(x): a cubic below 0.25, the square root above."""
    return torch.where(x <= 0.25, ((16 * x - 12) * x + 4) * x, torch.sqrt(x))


def blend_pixels(base: torch.Tensor, layer: torch.Tensor, mode: str) -> torch.Tensor:
    """`layer` composed onto `base` by `mode` (before mixing by the blend factor and clamping).

    "difference" is base - layer (negative values are clamped later), as in ComfyUI, not |base - layer|.
    """
    if mode == "normal":
        return layer
    if mode == "multiply":
        return base * layer
    if mode == "screen":
        return 1 - (1 - base) * (1 - layer)
    if mode == "overlay":
        return torch.where(base <= 0.5, 2 * base * layer, 1 - 2 * (1 - base) * (1 - layer))
    if mode == "soft_light":
        darker = base - (1 - 2 * layer) * base * (1 - base)
        lighter = base + (2 * layer - 1) * (_soft_light_lift(base) - base)
        return torch.where(layer <= 0.5, darker, lighter)
    if mode == "difference":
        return base - layer
    raise ValueError(f"unknown blend mode {mode!r}; expected one of {', '.join(BLEND_MODES)}")


def gaussian_kernel(size: int, sigma: float, device=None) -> torch.Tensor:
    """ComfyUI's blur kernel [size, size]: exp(-d² / 2σ²) over a grid from -1 to 1 (σ in units of the
    radius, not of pixels), normalised to sum 1."""
    axis = torch.linspace(-1, 1, size, device=device)
    rows, cols = torch.meshgrid(axis, axis, indexing="ij")
    weights = torch.exp(-(rows * rows + cols * cols) / (2.0 * sigma * sigma))
    return weights / weights.sum()


def convolve_reflect(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Every channel of `image` [B, H, W, C] correlated with the square `kernel`, borders mirrored."""
    radius = kernel.shape[-1] // 2
    channels = image.shape[-1]
    planes = image.movedim(-1, 1)
    weights = kernel.to(planes).expand(channels, 1, *kernel.shape).contiguous()
    padded = F.pad(planes, (radius, radius, radius, radius), mode="reflect")
    return F.conv2d(padded, weights, groups=channels).movedim(1, -1).contiguous()


def sharpen_kernel(radius: int, sigma: float, alpha: float) -> torch.Tensor:
    """The negated gaussian scaled by 10·alpha, with the centre raised so that the kernel sums to 1
    (a flat area is left unchanged)."""
    kernel = gaussian_kernel(radius * 2 + 1, sigma) * -(alpha * 10)
    kernel[radius, radius] = kernel[radius, radius] - kernel.sum() + 1.0
    return kernel


def bayer_matrix(order: int) -> np.ndarray:
    """The normalised Bayer threshold matrix [order, order] (order a power of two), values in -0.5..0.5."""
    matrix = np.zeros((1, 1), dtype=np.float64)
    for level in range(1, int(math.log2(order)) + 1):
        scale = 4 ** level
        grown = scale * matrix
        matrix = np.block([[grown - 1.5, grown + 0.5], [grown + 1.5, grown - 0.5]]) / scale
    return matrix


def _bayer_dither(picture: Image.Image, palette: Image.Image, order: int) -> Image.Image:
    """Adds the tiled Bayer matrix (spread 2·256 / palette size) to the 8-bit pixels, then maps them
    to the nearest palette colour without error diffusion."""
    colours = len(palette.getpalette()) // 3
    offsets = (2 * 256 / colours) * bayer_matrix(order) + 0.5
    pixels = np.asarray(picture, dtype=np.float64)
    height, width = pixels.shape[:2]
    tiled = np.tile(offsets, (math.ceil(height / order), math.ceil(width / order)))[:height, :width]
    shifted = np.clip((pixels + tiled[..., None]).astype(np.float32), 0, 255).astype(np.uint8)
    return Image.fromarray(shifted).quantize(palette=palette, dither=Image.Dither.NONE)


def quantize_picture(rgb: np.ndarray, colors: int, dither: str) -> np.ndarray:
    """One uint8 RGB picture [H, W, 3] reduced to a palette of at most `colors` (Pillow's median cut),
    mapped back with the chosen dithering; returns uint8 RGB."""
    picture = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    palette = picture.quantize(colors=colors)
    if dither == "none":
        result = picture.quantize(palette=palette, dither=Image.Dither.NONE)
    elif dither == "floyd-steinberg":
        result = picture.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
    elif dither.startswith("bayer-") and dither in DITHER_METHODS:
        result = _bayer_dither(picture, palette, int(dither.split("-")[1]))
    else:
        raise ValueError(f"unknown dither {dither!r}; expected one of {', '.join(DITHER_METHODS)}")
    return np.asarray(result.convert("RGB"))
