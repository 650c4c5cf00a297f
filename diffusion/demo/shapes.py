"""The procedural dataset of the demo model: one coloured shape on a coloured background, with a caption.

A scene is (shape, colour, background, position, size). Every scene is rendered the same way
every time (anti-aliased by 4x supersampling, no randomness), so the dataset is finite
(4 shapes x 8 colours x 7 backgrounds x 9 positions x 2 sizes = 4032 images) and reproducible.
Captions read "a small red circle on a blue background, top left".

A fixed set of (colour, shape, background) triples (about 15 %, chosen with `HELDOUT_SEED`) is
held out: `training_scenes()` never contains them; the quality bench prompts only them.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

IMAGE_SIZE = 64
SUPERSAMPLE = 4
HELDOUT_SEED = 20261121
HELDOUT_FRACTION = 0.15

# Well-separated colours (RGB 0..255); every pair differs by at least ~90 in some channel.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 230),
    "yellow": (245, 225, 30),
    "purple": (140, 40, 190),
    "orange": (250, 140, 20),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
}
SHAPES = ("circle", "square", "triangle", "star")
# Position name -> centre as fractions of the image (x, y).
POSITIONS: dict[str, tuple[float, float]] = {
    "top left": (0.25, 0.25), "top": (0.5, 0.25), "top right": (0.75, 0.25),
    "left": (0.25, 0.5), "center": (0.5, 0.5), "right": (0.75, 0.5),
    "bottom left": (0.25, 0.75), "bottom": (0.5, 0.75), "bottom right": (0.75, 0.75),
}
# Size name -> "radius" in pixels of a 64-pixel image (circumradius for polygons).
SIZES: dict[str, float] = {"small": 9.0, "large": 13.0}
STAR_INNER_RATIO = 0.5


@dataclass(frozen=True)
class Scene:
    """One image of the dataset."""

    shape: str
    color: str
    background: str
    position: str
    size: str

    def __post_init__(self) -> None:
        for field, value, allowed in (("shape", self.shape, SHAPES), ("color", self.color, COLORS),
                                      ("background", self.background, COLORS), ("position", self.position, POSITIONS),
                                      ("size", self.size, SIZES)):
            if value not in allowed:
                raise ValueError(f"unknown {field} {value!r}; expected one of {', '.join(allowed)}")
        if self.color == self.background:
            raise ValueError(f"the shape colour and the background are both {self.color!r}")

    @property
    def triple(self) -> tuple[str, str, str]:
        return (self.color, self.shape, self.background)

    @property
    def caption(self) -> str:
        return caption_of(self)


def caption_of(scene: Scene) -> str:
    """The training caption: "a small red circle on a blue background, top left"."""
    return f"a {scene.size} {scene.color} {scene.shape} on {_article(scene.background)} {scene.background} background, " \
        f"{scene.position}"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def all_scenes() -> list[Scene]:
    """Every scene of the dataset in a fixed order."""
    return [Scene(shape, color, background, position, size)
            for color in COLORS for shape in SHAPES for background in COLORS if background != color
            for position in POSITIONS for size in SIZES]


@lru_cache(maxsize=1)
def heldout_triples() -> frozenset[tuple[str, str, str]]:
    """The (colour, shape, background) triples never shown in training (fixed by HELDOUT_SEED)."""
    triples = sorted({s.triple for s in all_scenes()})
    count = round(len(triples) * HELDOUT_FRACTION)
    return frozenset(random.Random(HELDOUT_SEED).sample(triples, count))


def training_scenes() -> list[Scene]:
    """All scenes whose triple is not held out."""
    held = heldout_triples()
    return [s for s in all_scenes() if s.triple not in held]


def heldout_scenes() -> list[Scene]:
    """All scenes whose triple is held out."""
    held = heldout_triples()
    return [s for s in all_scenes() if s.triple in held]


def shape_polygon(shape: str, cx: float, cy: float, radius: float) -> list[tuple[float, float]] | None:
    """Vertices of `shape` centred at (cx, cy) (None for a circle)."""
    if shape == "circle":
        return None
    if shape == "square":
        half = radius * 0.8
        return [(cx - half, cy - half), (cx + half, cy - half), (cx + half, cy + half), (cx - half, cy + half)]
    if shape == "triangle":
        return [(cx + radius * math.cos(a), cy + radius * math.sin(a))
                for a in (-math.pi / 2, -math.pi / 2 + 2 * math.pi / 3, -math.pi / 2 + 4 * math.pi / 3)]
    if shape == "star":
        points = []
        for k in range(10):
            r = radius if k % 2 == 0 else radius * STAR_INNER_RATIO
            angle = -math.pi / 2 + k * math.pi / 5
            points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
        return points
    raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")


def shape_mask(shape: str, cx: float, cy: float, radius: float, size: int = IMAGE_SIZE) -> np.ndarray:
    """Anti-aliased coverage [size, size] float32 in 0..1 of `shape` centred at (cx, cy) pixels."""
    scale = SUPERSAMPLE
    canvas = Image.new("L", (size * scale, size * scale), 0)
    draw = ImageDraw.Draw(canvas)
    polygon = shape_polygon(shape, cx * scale, cy * scale, radius * scale)
    if polygon is None:
        r = radius * scale
        draw.ellipse([cx * scale - r, cy * scale - r, cx * scale + r, cy * scale + r], fill=255)
    else:
        draw.polygon(polygon, fill=255)
    small = canvas.resize((size, size), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def scene_centre(scene: Scene, size: int = IMAGE_SIZE) -> tuple[float, float]:
    fx, fy = POSITIONS[scene.position]
    return fx * size, fy * size


def render(scene: Scene, size: int = IMAGE_SIZE) -> np.ndarray:
    """The scene as float32 RGB [size, size, 3] in 0..1."""
    cx, cy = scene_centre(scene, size)
    coverage = shape_mask(scene.shape, cx, cy, SIZES[scene.size] * size / IMAGE_SIZE, size)[..., None]
    fg = np.asarray(COLORS[scene.color], dtype=np.float32) / 255.0
    bg = np.asarray(COLORS[scene.background], dtype=np.float32) / 255.0
    return (coverage * fg + (1.0 - coverage) * bg).astype(np.float32)


def render_batch(scenes: list[Scene]) -> np.ndarray:
    """Scenes as float32 [N, 64, 64, 3] in 0..1 (the IMAGE layout)."""
    return np.stack([render(s) for s in scenes]) if scenes else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)


def sample_scenes(count: int, seed: int, pool: list[Scene] | None = None) -> list[Scene]:
    """`count` scenes drawn (with replacement) from `pool` (default: training scenes), seeded."""
    pool = training_scenes() if pool is None else pool
    if not pool:
        raise ValueError("cannot sample scenes from an empty pool")
    rng = random.Random(seed)
    return [pool[rng.randrange(len(pool))] for _ in range(count)]


def parse_caption(caption: str) -> Scene:
    """The scene a caption describes (inverse of `caption_of`); ValueError names what does not fit."""
    text = caption.strip()
    if not text.startswith("a ") or " background, " not in text:
        raise ValueError(f"not a demo caption: {caption!r} (expected 'a <size> <colour> <shape> on a <colour> "
                         "background, <position>')")
    head, position = text[2:].split(" background, ", 1)
    words = re.split(r" on an? ", head)
    if len(words) != 2:
        raise ValueError(f"not a demo caption: {caption!r}")
    parts = words[0].split()
    if len(parts) != 3:
        raise ValueError(f"not a demo caption: {caption!r} (expected size, colour and shape)")
    size, color, shape = parts
    return Scene(shape=shape, color=color, background=words[1], position=position, size=size)
