"""A small line chart drawn with Pillow: axes, ticks, labels, several series and a legend.

Used by SigmasPlot. The y axis is linear (ticks at 1, 2 or 5 times a power of ten) or
logarithmic (ticks at powers of ten, with 2 and 5 in between when the range is narrow);
on a log axis values <= 0 cannot be placed and are left out of the line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nodes.api.lazy import lazy_import
from nodes.library.inspect.plotting import (
    BACKGROUND,
    TEXT_COLOR,
    default_font,
    format_number,
    line_height,
    rgb_bytes,
    text_width,
)

Image = lazy_import("PIL.Image")
ImageDraw = lazy_import("PIL.ImageDraw")

# Distinct colours for up to 10 series (then they repeat).
SERIES_COLORS = (
    (66, 133, 244), (234, 67, 53), (251, 188, 5), (52, 168, 83), (171, 71, 188),
    (0, 172, 193), (255, 112, 67), (158, 157, 36), (92, 107, 192), (240, 98, 146),
)
GRID_COLOR = (70, 70, 70)
AXIS_COLOR = (200, 200, 200)


@dataclass(frozen=True)
class Series:
    """One line: its legend name and its points."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float]


def linear_ticks(low: float, high: float, max_ticks: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering [low, high]; the first <= low, the last >= high."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"axis range must be finite, got {low}..{high}")
    if high <= low:
        high = low + 1.0
    raw_step = (high - low) / max(1, max_ticks - 1)
    power = 10.0 ** math.floor(math.log10(raw_step))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw_step - 1e-12)
    first = math.floor(low / step + 1e-9) * step
    count = int(math.ceil((high - first) / step - 1e-9)) + 1
    return [round(first + i * step, 12) for i in range(count)]


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values for a log axis from the decade at or below `low` to the decade at or above `high` (both > 0)."""
    if not (low > 0 and high > 0):
        raise ValueError(f"a log axis needs positive values, got {low}..{high}")
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last == first:
        last += 1
    multiples = (1, 2, 5) if last - first <= 2 else (1,)
    ticks = [m * 10.0 ** e for e in range(first, last) for m in multiples]
    return ticks + [10.0 ** last]


@dataclass(frozen=True)
class Frame:
    """Where the plot area sits in the picture and how values map into it."""

    left: int
    top: int
    right: int
    bottom: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    log_y: bool

    def x(self, value: float) -> float:
        low, high = self.x_range
        return self.left + (value - low) / (high - low) * (self.right - self.left)

    def y(self, value: float) -> float:
        low, high = self.y_range
        if self.log_y:
            value, low, high = math.log10(value), math.log10(low), math.log10(high)
        return self.bottom - (value - low) / (high - low) * (self.bottom - self.top)


def _visible_points(series: Series, log_y: bool) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in zip(series.xs, series.ys, strict=True) if not log_y or y > 0]


def draw_line_chart(series: Sequence[Series], *, width: int, height: int, title: str, x_label: str,
                    y_label: str, log_y: bool = False, note: str = "") -> Image.Image:
    """The chart as an RGB picture of `width` x `height`; a legend appears when there are several series.

    Raises ValueError when no series has a point that can be drawn (e.g. only zeros on a log axis).
    """
    points = [_visible_points(s, log_y) for s in series]
    every = [p for line in points for p in line]
    if not every:
        raise ValueError("nothing to plot: no series has a value that fits the axis"
                         + (" (a log axis cannot show values <= 0)" if log_y else ""))
    font = default_font()
    text_h = line_height(font)
    xs, ys = [p[0] for p in every], [p[1] for p in every]
    x_ticks = [t for t in linear_ticks(min(xs), max(xs), 8) if float(t).is_integer()] or [min(xs), max(xs)]
    y_ticks = log_ticks(min(ys), max(ys)) if log_y else linear_ticks(min(0.0, min(ys)), max(ys), 6)
    tick_labels = [format_number(t) for t in y_ticks]
    left = 14 + text_h + max(text_width(label, font) for label in tick_labels)
    legend_w = _legend_width([s.name for s in series], font) + 12 if len(series) > 1 else 0
    frame = Frame(left=left, top=10 + 2 * text_h, right=width - 14 - legend_w, bottom=height - 12 - 2 * text_h,
                  x_range=(x_ticks[0], max(x_ticks[-1], x_ticks[0] + 1)), y_range=(y_ticks[0], y_ticks[-1]),
                  log_y=log_y)
    if frame.right - frame.left < 40 or frame.bottom - frame.top < 40:
        raise ValueError(f"a chart of {width}x{height} pixels is too small to draw")

    picture = Image.new("RGB", (width, height), rgb_bytes(BACKGROUND))
    draw = ImageDraw.Draw(picture)
    _draw_axes(draw, frame, x_ticks, y_ticks, tick_labels, font, text_h)
    draw.text(((width - text_width(title, font)) // 2, 6), title, fill=TEXT_COLOR, font=font)
    draw.text(((frame.left + frame.right - text_width(x_label, font)) // 2, height - 6 - text_h), x_label,
              fill=TEXT_COLOR, font=font)
    _draw_vertical_label(picture, y_label, 4, (frame.top + frame.bottom) // 2, font)
    if note:
        draw.text((frame.left, 8 + text_h), note, fill=AXIS_COLOR, font=font)
    for index, line in enumerate(points):
        color = SERIES_COLORS[index % len(SERIES_COLORS)]
        placed = [(frame.x(x), frame.y(y)) for x, y in line]
        if len(placed) > 1:
            draw.line(placed, fill=color, width=2)
        for px, py in placed:
            draw.ellipse((px - 2, py - 2, px + 2, py + 2), fill=color)
    if len(series) > 1:
        _draw_legend(draw, frame, [s.name for s in series], font, text_h)
    return picture


def _draw_axes(draw: ImageDraw.ImageDraw, frame: Frame, x_ticks: list[float], y_ticks: list[float],
               y_labels: list[str], font, text_h: int) -> None:
    for tick, label in zip(y_ticks, y_labels, strict=True):
        y = frame.y(tick)
        draw.line([(frame.left, y), (frame.right, y)], fill=GRID_COLOR, width=1)
        draw.line([(frame.left - 4, y), (frame.left, y)], fill=AXIS_COLOR, width=1)
        draw.text((frame.left - 6 - text_width(label, font), y - text_h // 2), label, fill=TEXT_COLOR, font=font)
    for tick in x_ticks:
        x = frame.x(tick)
        draw.line([(x, frame.bottom), (x, frame.bottom + 4)], fill=AXIS_COLOR, width=1)
        label = format_number(tick)
        draw.text((x - text_width(label, font) // 2, frame.bottom + 6), label, fill=TEXT_COLOR, font=font)
    draw.line([(frame.left, frame.top), (frame.left, frame.bottom), (frame.right, frame.bottom)],
              fill=AXIS_COLOR, width=1)


def _draw_vertical_label(picture: Image.Image, text: str, left: int, centre_y: int, font) -> None:
    """`text` rotated a quarter turn (reading bottom to top), centred on `centre_y`."""
    width, height = text_width(text, font) + 4, line_height(font)
    label = Image.new("RGB", (width, height), rgb_bytes(BACKGROUND))
    ImageDraw.Draw(label).text((2, 0), text, fill=TEXT_COLOR, font=font)
    rotated = label.rotate(90, expand=True)
    picture.paste(rotated, (left, max(0, centre_y - rotated.height // 2)))


LEGEND_SWATCH, LEGEND_PAD = 14, 4


def _legend_width(names: list[str], font) -> int:
    return LEGEND_SWATCH + 3 * LEGEND_PAD + max(text_width(n, font) for n in names)


def _draw_legend(draw: ImageDraw.ImageDraw, frame: Frame, names: list[str], font, text_h: int) -> None:
    """The legend box to the right of the plot area, at its top."""
    swatch, pad = LEGEND_SWATCH, LEGEND_PAD
    box_w = _legend_width(names, font)
    box_h = pad + len(names) * (text_h + 2) + pad
    right, top = frame.right + 12 + box_w, frame.top
    draw.rectangle((right - box_w, top, right, top + box_h), fill=rgb_bytes(BACKGROUND), outline=AXIS_COLOR)
    for index, name in enumerate(names):
        y = top + pad + index * (text_h + 2)
        color = SERIES_COLORS[index % len(SERIES_COLORS)]
        draw.line([(right - box_w + pad, y + text_h // 2), (right - box_w + pad + swatch, y + text_h // 2)],
                  fill=color, width=3)
        draw.text((right - box_w + 2 * pad + swatch, y), name, fill=TEXT_COLOR, font=font)
