"""Grey-level morphology with a square window and Canny edge detection, on channel-first tensors [B, C, H, W].

ComfyUI calls kornia (kornia.morphology with a kernel of ones, kornia.filters.canny with its
defaults); these are the same algorithms written with plain torch operations:

- A k x k window sits at offsets -k//2 .. k-1-k//2 around each pixel (kornia's origin; kornia 0.8,
  which ComfyUI 0.8 ran, uses it for dilation too, kornia 0.9 mirrors it there). Pixels
  outside the picture take no part ("geodesic" border): dilation is the window maximum, erosion
  the window minimum, and the other operations are made of these two.
- Canny: grey = 0.299 R + 0.587 G + 0.114 B; a 5x5 gaussian (σ = 1, mirrored border); unnormalised
  Sobel gradients (repeated border); magnitude sqrt(gx² + gy² + 1e-6); the direction rounded to
  45°; a pixel is kept when its magnitude is strictly above both neighbours along that direction
  (zero outside); above `high` is strong, above `low` weak; weak pixels touching a strong one
  (8-neighbourhood) become strong until nothing changes. The result is 1 on strong pixels, else 0.
"""

from __future__ import annotations

import math

from nodes.api.lazy import lazy_import

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")

MORPHOLOGY_OPERATIONS = ("erode", "dilate", "open", "close", "gradient", "bottom_hat", "top_hat")
# kornia's geodesic border: a value no pixel reaches, so the border never wins a max or a min.
FAR_VALUE = 1e4
CANNY_KERNEL_SIZE = 5
CANNY_SIGMA = 1.0
CANNY_EPS = 1e-6
GREY_WEIGHTS = (0.299, 0.587, 0.114)
# (dy, dx) of the neighbour in direction 45°·i, i = 0..7 (y grows downwards, as the gradient's gy).
DIRECTIONS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))


def _window_max(planes: torch.Tensor, size: int, border: float) -> torch.Tensor:
    """The maximum over the size x size window of each pixel (kornia's offsets), `border` outside."""
    before, after = size // 2, size - 1 - size // 2
    padded = F.pad(planes, (before, after, before, after), mode="constant", value=border)
    rows = F.max_pool2d(padded, kernel_size=(size, 1), stride=1)
    return F.max_pool2d(rows, kernel_size=(1, size), stride=1)


def dilate(planes: torch.Tensor, size: int) -> torch.Tensor:
    return _window_max(planes, size, -FAR_VALUE)


def erode(planes: torch.Tensor, size: int) -> torch.Tensor:
    return -_window_max(-planes, size, -FAR_VALUE)


def morphology(planes: torch.Tensor, operation: str, size: int) -> torch.Tensor:
    """One of MORPHOLOGY_OPERATIONS with a size x size window of ones."""
    if operation == "erode":
        return erode(planes, size)
    if operation == "dilate":
        return dilate(planes, size)
    if operation == "open":
        return dilate(erode(planes, size), size)
    if operation == "close":
        return erode(dilate(planes, size), size)
    if operation == "gradient":
        return dilate(planes, size) - erode(planes, size)
    if operation == "top_hat":
        return planes - dilate(erode(planes, size), size)
    if operation == "bottom_hat":
        return erode(dilate(planes, size), size) - planes
    raise ValueError(f"unknown morphology operation {operation!r}; expected one of {', '.join(MORPHOLOGY_OPERATIONS)}")


def _gaussian_blur(grey: torch.Tensor) -> torch.Tensor:
    """kornia's gaussian_blur2d with a 5x5 window and σ = 1 (separable, mirrored border)."""
    offsets = torch.arange(CANNY_KERNEL_SIZE, dtype=grey.dtype, device=grey.device) - CANNY_KERNEL_SIZE // 2
    weights = torch.exp(-offsets * offsets / (2 * CANNY_SIGMA ** 2))
    weights = weights / weights.sum()
    radius = CANNY_KERNEL_SIZE // 2
    padded = F.pad(grey, (radius, radius, radius, radius), mode="reflect")
    across = F.conv2d(padded, weights.view(1, 1, 1, -1))
    return F.conv2d(across, weights.view(1, 1, -1, 1))


def _sobel(grey: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unnormalised Sobel gradients (gx: right minus left, gy: below minus above), border repeated."""
    sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=grey.dtype,
                           device=grey.device)
    padded = F.pad(grey, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, sobel_x.view(1, 1, 3, 3))
    gy = F.conv2d(padded, sobel_x.t().contiguous().view(1, 1, 3, 3))
    return gx, gy


def _neighbour(values: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """values[y + dy, x + dx] for every pixel, 0 outside the picture."""
    padded = F.pad(values, (1, 1, 1, 1))
    height, width = values.shape[-2:]
    return padded[..., 1 + dy:1 + dy + height, 1 + dx:1 + dx + width]


def _suppress_non_maxima(magnitude: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """`magnitude` where it is strictly above both neighbours along the rounded gradient direction, else 0."""
    index = torch.remainder(torch.round(angle / 45), 8).long()
    margins = torch.stack([magnitude - _neighbour(magnitude, dy, dx) for dy, dx in DIRECTIONS], dim=0)
    forward = torch.gather(margins, 0, index.unsqueeze(0)).squeeze(0)
    backward = torch.gather(margins, 0, torch.remainder(index + 4, 8).unsqueeze(0)).squeeze(0)
    return magnitude * (torch.minimum(forward, backward) > 0)


def _hysteresis(strong: torch.Tensor, weak: torch.Tensor) -> torch.Tensor:
    """Grows `strong` (bool) into the `weak` pixels that touch it, one ring per pass, until it stops."""
    while True:
        touched = F.max_pool2d(strong.to(torch.float32), kernel_size=3, stride=1, padding=1) > 0
        grown = strong | (weak & touched)
        if torch.equal(grown, strong):
            return strong
        strong = grown


def canny(planes: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Edges [B, 1, H, W] (0 or 1) of RGB or grey `planes` [B, 3 or 1, H, W]."""
    if planes.shape[1] == 3:
        weights = torch.tensor(GREY_WEIGHTS, dtype=planes.dtype, device=planes.device).view(1, 3, 1, 1)
        grey = (planes * weights).sum(dim=1, keepdim=True)
    else:
        grey = planes
    gx, gy = _sobel(_gaussian_blur(grey))
    magnitude = torch.sqrt(gx * gx + gy * gy + CANNY_EPS)
    angle = torch.atan2(gy, gx) * (180.0 / math.pi)
    magnitude = _suppress_non_maxima(magnitude, angle)
    strong = _hysteresis(magnitude > high, magnitude > low)
    return strong.to(planes.dtype)
