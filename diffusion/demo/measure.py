"""Read a demo image back: background colour, shape colour, shape class, position and size.

Every pixel is labelled with the nearest palette colour. The background is the most common
label on the image border; the shape is the largest 4-connected region of pixels that are
clearly not the background colour. Its colour is the most common label inside it, its position
the 3x3 grid cell of its centroid, and its class the template (circle, square, triangle, star,
rendered by the dataset's own renderer at the centroid over a range of radii) with the highest
intersection-over-union with the region. Works on any [64, 64, 3] image in 0..1 (numpy or torch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffusion.demo.shapes import COLORS, IMAGE_SIZE, POSITIONS, SHAPES, SIZES, Scene, shape_mask

PALETTE_NAMES = tuple(COLORS)
PALETTE = np.asarray([COLORS[name] for name in PALETTE_NAMES], dtype=np.float32) / 255.0
BORDER = 2
FOREGROUND_DISTANCE = 0.3  # RGB distance (0..1 units) from the background colour that counts as shape
TEMPLATE_RADII = tuple(float(r) for r in range(6, 17))
SIZE_THRESHOLD = (SIZES["small"] + SIZES["large"]) / 2
_GRID = {(int(round(fx * 4 - 1)), int(round(fy * 4 - 1))): name for name, (fx, fy) in POSITIONS.items()}


@dataclass(frozen=True)
class Measurement:
    """What the image shows; shape fields are None when no shape was found."""

    background: str
    color: str | None
    shape: str | None
    position: str | None
    size: str | None
    area: int
    shape_iou: float


def _as_array(image) -> np.ndarray:
    array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or array.shape[-1] < 3:
        raise ValueError(f"expected an image [height, width, 3] in 0..1, got shape {array.shape}")
    return array[..., :3]


def palette_labels(image: np.ndarray) -> np.ndarray:
    """Index of the nearest palette colour for every pixel, [H, W]."""
    distances = ((image[:, :, None, :] - PALETTE[None, None]) ** 2).sum(axis=-1)
    return distances.argmin(axis=-1)


def _largest_region(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected True region of `mask`."""
    height, width = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    best: list[tuple[int, int]] = []
    for start_y, start_x in zip(*np.nonzero(mask), strict=True):
        if seen[start_y, start_x]:
            continue
        stack = [(int(start_y), int(start_x))]
        seen[start_y, start_x] = True
        region = []
        while stack:
            y, x = stack.pop()
            region.append((y, x))
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        if len(region) > len(best):
            best = region
    out = np.zeros_like(mask, dtype=bool)
    if best:
        ys, xs = zip(*best, strict=True)
        out[list(ys), list(xs)] = True
    return out


def _grid_cell(value: float, size: int) -> int:
    fraction = value / size
    return 0 if fraction < 0.375 else (2 if fraction > 0.625 else 1)


def classify_shape(region: np.ndarray, cx: float, cy: float) -> tuple[str, float, float]:
    """(shape, radius, IoU) of the template that best matches the boolean region centred at (cx, cy)."""
    size = region.shape[0]
    best = ("circle", TEMPLATE_RADII[0], -1.0)
    for shape in SHAPES:
        for radius in TEMPLATE_RADII:
            template = shape_mask(shape, cx, cy, radius * size / IMAGE_SIZE, size) >= 0.5
            union = np.logical_or(template, region).sum()
            iou = float(np.logical_and(template, region).sum() / union) if union else 0.0
            if iou > best[2]:
                best = (shape, radius, iou)
    return best


def measure_image(image) -> Measurement:
    """Measure one image (see the module docstring)."""
    pixels = _as_array(image)
    size = pixels.shape[0]
    labels = palette_labels(pixels)
    border = np.concatenate([labels[:BORDER].ravel(), labels[-BORDER:].ravel(),
                             labels[:, :BORDER].ravel(), labels[:, -BORDER:].ravel()])
    background = int(np.bincount(border, minlength=len(PALETTE)).argmax())
    distance = np.sqrt(((pixels - PALETTE[background]) ** 2).sum(axis=-1))
    region = _largest_region((labels != background) & (distance > FOREGROUND_DISTANCE))
    area = int(region.sum())
    if area == 0:
        return Measurement(PALETTE_NAMES[background], None, None, None, None, 0, 0.0)
    color = int(np.bincount(labels[region], minlength=len(PALETTE)).argmax())
    ys, xs = np.nonzero(region)
    cx, cy = float(xs.mean()) + 0.5, float(ys.mean()) + 0.5
    position = _GRID[(_grid_cell(cx, pixels.shape[1]), _grid_cell(cy, size))]
    shape, radius, iou = classify_shape(region, cx, cy)
    return Measurement(
        background=PALETTE_NAMES[background],
        color=PALETTE_NAMES[color],
        shape=shape,
        position=position,
        size="small" if radius * IMAGE_SIZE / size < SIZE_THRESHOLD else "large",
        area=area,
        shape_iou=iou,
    )


def matches(scene: Scene, measured: Measurement) -> dict[str, bool]:
    """Which attributes of `scene` the measurement got right."""
    return {
        "color": measured.color == scene.color,
        "background": measured.background == scene.background,
        "shape": measured.shape == scene.shape,
        "position": measured.position == scene.position,
        "size": measured.size == scene.size,
    }
