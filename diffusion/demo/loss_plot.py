"""A small loss-curve PNG drawn with Pillow (no plotting library needed): one panel per phase,
log-scaled loss against step, raw values in light colour and a moving average on top."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

PANEL_W, PANEL_H, MARGIN = 420, 260, 40


def _smooth(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def _panel(draw: ImageDraw.ImageDraw, left: int, title: str, values: list[float]) -> None:
    top = 10
    draw.rectangle([left + MARGIN, top + 20, left + PANEL_W - 10, top + PANEL_H - 20], outline=(0, 0, 0))
    draw.text((left + MARGIN, top + 2), title, fill=(0, 0, 0))
    finite = [v for v in values if v > 0 and math.isfinite(v)]
    if not finite:
        draw.text((left + MARGIN + 10, top + 40), "no steps", fill=(0, 0, 0))
        return
    lo, hi = math.log10(min(finite)), math.log10(max(finite))
    hi = hi if hi > lo else lo + 1e-6
    x0, x1 = left + MARGIN, left + PANEL_W - 10
    y0, y1 = top + PANEL_H - 20, top + 20

    def point(i: int, v: float) -> tuple[float, float]:
        x = x0 + (x1 - x0) * (i / max(1, len(values) - 1))
        y = y0 + (y1 - y0) * ((math.log10(max(v, min(finite))) - lo) / (hi - lo))
        return x, y

    for series, colour in ((values, (170, 190, 230)), (_smooth(values, max(1, len(values) // 50)), (20, 60, 180))):
        draw.line([point(i, v) for i, v in enumerate(series)], fill=colour, width=1 if colour[0] > 100 else 2)
    draw.text((left + 2, y1), f"{10 ** hi:.3g}", fill=(0, 0, 0))
    draw.text((left + 2, y0 - 10), f"{10 ** lo:.3g}", fill=(0, 0, 0))
    draw.text((x1 - 60, y0 + 4), f"{len(values)} steps", fill=(0, 0, 0))


def save_loss_curves(path: str | Path, phases: dict[str, list[float]]) -> None:
    """Write one PNG with a log-loss panel per phase ({"VAE": [...], "UNet": [...]})."""
    image = Image.new("RGB", (PANEL_W * max(1, len(phases)), PANEL_H + 20), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for index, (title, values) in enumerate(phases.items()):
        _panel(draw, index * PANEL_W, f"{title} loss (log scale)", values)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
