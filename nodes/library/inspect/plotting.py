"""Drawing helpers for the inspection nodes: text boxes, colour maps, colour bars and IMAGE conversion.

Pictures are composed as float tensors [H, W, 3] in 0..1 (an IMAGE item without the batch
dimension), so pixels copied from an input (a decoded frame, an original image) arrive in
the output unchanged. Text is drawn with Pillow's default font at a fixed size, on its own
box, and pasted in; everything here is deterministic. Labels use ASCII only: the default
font has no glyphs for Greek letters or mathematical signs.
"""

from __future__ import annotations

import functools
import math

from nodes.api.lazy import lazy_import

np = lazy_import("numpy")
torch = lazy_import("torch")
Image = lazy_import("PIL.Image")
ImageDraw = lazy_import("PIL.ImageDraw")
ImageFont = lazy_import("PIL.ImageFont")

FONT_SIZE = 12
BACKGROUND = (0.12, 0.12, 0.12)
TEXT_COLOR = (235, 235, 235)

# Colour maps: anchor colours (0..1 RGB) evenly spaced from the lowest to the highest value.
COLORMAPS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "gray": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "heat": ((0.0, 0.0, 0.0), (0.55, 0.05, 0.05), (0.95, 0.45, 0.0), (1.0, 0.9, 0.2), (1.0, 1.0, 1.0)),
    "coolwarm": ((0.15, 0.25, 0.75), (0.55, 0.7, 0.98), (0.9, 0.9, 0.9), (0.96, 0.6, 0.45), (0.7, 0.05, 0.15)),
}
COLORMAP_NAMES = tuple(COLORMAPS)


@functools.lru_cache(maxsize=4)
def default_font(size: int = FONT_SIZE) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled default font at `size` (the bitmap font on a Pillow without FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()


def text_width(text: str, font=None) -> int:
    """Width in pixels of `text` in the default font."""
    font = font or default_font()
    left, _, right, _ = font.getbbox(text)
    return int(math.ceil(right - left))


def line_height(font=None) -> int:
    """Height of one line of text (ascent + descent) in the default font."""
    font = font or default_font()
    _, top, _, bottom = font.getbbox("Ag|")
    return int(math.ceil(bottom)) + 2 - min(0, int(top))


def format_number(value: float) -> str:
    """A short readable number: 3 significant digits, no exponent for ordinary magnitudes."""
    if not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e5:
        digits = max(0, 2 - int(math.floor(math.log10(magnitude))))
        text = f"{value:.{digits}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{value:.2e}"


def rgb_bytes(color: tuple[float, float, float]) -> tuple[int, int, int]:
    """A 0..1 colour as 0..255 integers."""
    return tuple(int(round(max(0.0, min(1.0, c)) * 255)) for c in color)  # type: ignore[return-value]


def pil_to_tensor(picture: Image.Image) -> torch.Tensor:
    """A Pillow image as a float [H, W, 3] tensor in 0..1."""
    array = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy())


def blank(height: int, width: int, color: tuple[float, float, float] = BACKGROUND) -> torch.Tensor:
    """A [height, width, 3] canvas filled with `color`."""
    return torch.tensor(color, dtype=torch.float32).expand(height, width, 3).clone()


def text_box(text: str, width: int, height: int | None = None, *, align: str = "center",
             background: tuple[float, float, float] = BACKGROUND,
             color: tuple[int, int, int] = TEXT_COLOR) -> torch.Tensor:
    """`text` (one or more lines) drawn on a [height, width, 3] box, each line centred or left-aligned.

    The height defaults to what the lines need; text wider than the box is cut at the right edge.
    """
    font = default_font()
    lines = text.split("\n")
    step = line_height(font)
    height = height or text_height(len(lines))
    picture = Image.new("RGB", (max(1, width), max(1, height)), rgb_bytes(background))
    draw = ImageDraw.Draw(picture)
    top = max(0, (height - step * len(lines)) // 2)
    for index, line in enumerate(lines):
        left = 2 if align == "left" else max(0, (width - text_width(line, font)) // 2)
        draw.text((left, top + index * step), line, fill=color, font=font)
    return pil_to_tensor(picture)


def text_height(lines: int = 1) -> int:
    """Height of a text box of `lines` lines."""
    return lines * line_height() + 4


def fitting_width(width: int, labels: list[str]) -> int:
    """`width`, widened when needed so that every line of every label fits with a small margin."""
    widest = max((text_width(line) for label in labels for line in label.split("\n")), default=0)
    return max(width, widest + 6)


def paste(canvas: torch.Tensor, tile: torch.Tensor, top: int, left: int) -> None:
    """Copy `tile` [h, w, 3] into `canvas` [H, W, 3] at (top, left), in place."""
    canvas[top:top + tile.shape[0], left:left + tile.shape[1]] = tile


def apply_colormap(values: torch.Tensor, name: str) -> torch.Tensor:
    """Values in 0..1 (any shape S) -> colours [*S, 3] by piecewise-linear interpolation of the map's anchors."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}; expected one of {', '.join(COLORMAP_NAMES)}")
    anchors = torch.tensor(COLORMAPS[name], dtype=torch.float32)
    position = values.float().clamp(0, 1) * (len(anchors) - 1)
    lower = position.floor().long().clamp(max=len(anchors) - 2)
    fraction = (position - lower.float()).unsqueeze(-1)
    return anchors[lower] * (1 - fraction) + anchors[lower + 1] * fraction


def colour_bar(height: int, width: int, name: str) -> torch.Tensor:
    """A vertical gradient [height, width, 3] of colour map `name`: highest value at the top."""
    ramp = torch.linspace(1.0, 0.0, max(height, 2))[:height]
    return apply_colormap(ramp.unsqueeze(1).expand(height, width), name)


def as_image_batch(picture: torch.Tensor) -> torch.Tensor:
    """A [H, W, 3] picture as a one-item IMAGE batch [1, H, W, 3] (contiguous float32)."""
    return picture.unsqueeze(0).contiguous().float()
