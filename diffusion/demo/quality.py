"""The demo model's quality measurement: prompts it never saw as a combination, generated through
the real pipeline and read back by `measure.py`. Used by `bench/demo_quality.py` and the tests.

- txt2img: held-out (colour, shape, background) triples at random positions and sizes.
- recolour (img2img): a rendered scene whose shape has another colour, encoded, denoised with the
  held-out target caption; right when the measured colour is the target colour.
- inpaint: a rendered scene with another shape, the square around the shape masked, denoised with
  the target caption; right when the measured shape is the target shape, and the background kept.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from diffusion.checkpoints.loader import LoadedCheckpoint
from diffusion.demo.generate import img2img, txt2img
from diffusion.demo.measure import Measurement, matches, measure_image
from diffusion.demo.shapes import COLORS, IMAGE_SIZE, SHAPES, SIZES, Scene, heldout_scenes, render_batch, scene_centre

INPAINT_MARGIN = 3.0


@dataclass
class Case:
    """One generation: the wanted scene, its prompt and seed, and (for img2img) the source scene."""

    target: Scene
    seed: int
    source: Scene | None = None


def txt2img_cases(count: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    pool = heldout_scenes()
    return [Case(pool[rng.randrange(len(pool))], seed * 100_000 + i) for i in range(count)]


def recolour_cases(count: int, seed: int) -> list[Case]:
    rng = random.Random(seed + 1)
    pool = heldout_scenes()
    cases = []
    for i in range(count):
        target = pool[rng.randrange(len(pool))]
        colours = [c for c in COLORS if c not in (target.color, target.background)]
        cases.append(Case(target, seed * 100_000 + 50_000 + i, replace(target, color=rng.choice(colours))))
    return cases


def inpaint_cases(count: int, seed: int) -> list[Case]:
    rng = random.Random(seed + 2)
    pool = heldout_scenes()
    cases = []
    for i in range(count):
        target = pool[rng.randrange(len(pool))]
        shapes = [s for s in SHAPES if s != target.shape]
        cases.append(Case(target, seed * 100_000 + 80_000 + i, replace(target, shape=rng.choice(shapes))))
    return cases


def inpaint_mask(scene: Scene, size: int = IMAGE_SIZE) -> torch.Tensor:
    """[size, size] float mask (1 = repaint): the square around where a large shape at the scene's position would be."""
    cx, cy = scene_centre(scene, size)
    half = (SIZES["large"] + INPAINT_MARGIN) * size / IMAGE_SIZE
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    inside = (np.abs(xs - cx) <= half) & (np.abs(ys - cy) <= half)
    return torch.from_numpy(inside.astype(np.float32))


def _batched(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def run_txt2img(checkpoint: LoadedCheckpoint, cases: list[Case], *, batch: int = 50,
                **options) -> list[tuple[Case, Measurement, torch.Tensor]]:
    out = []
    for chunk in _batched(cases, batch):
        images = txt2img(checkpoint, [c.target.caption for c in chunk], [c.seed for c in chunk], **options)
        out += [(c, measure_image(img), img) for c, img in zip(chunk, images, strict=True)]
    return out


def run_img2img(checkpoint: LoadedCheckpoint, cases: list[Case], *, denoise: float, inpaint: bool,
                batch: int = 50, **options) -> list[tuple[Case, Measurement, torch.Tensor]]:
    out = []
    for chunk in _batched(cases, batch):
        sources = torch.from_numpy(render_batch([c.source for c in chunk]))
        mask = torch.stack([inpaint_mask(c.source) for c in chunk]) if inpaint else None
        images = img2img(checkpoint, sources, [c.target.caption for c in chunk], [c.seed for c in chunk],
                         denoise=denoise, noise_mask=mask, **options)
        out += [(c, measure_image(img), img) for c, img in zip(chunk, images, strict=True)]
    return out


def accuracy(results, key: str) -> float:
    if not results:
        return float("nan")
    return sum(matches(case.target, measured)[key] for case, measured, _ in results) / len(results)


def run_roundtrip(checkpoint: LoadedCheckpoint, cases: list[Case], *, batch: int = 50):
    """VAE encode -> decode of the rendered targets (the ceiling the VAE sets on every figure)."""
    out = []
    for chunk in _batched(cases, batch):
        images = checkpoint.vae.decode(checkpoint.vae.encode(torch.from_numpy(render_batch([c.target for c in chunk]))))
        out += [(c, measure_image(img), img) for c, img in zip(chunk, images, strict=True)]
    return out
