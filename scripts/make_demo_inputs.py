"""Writes the example input images the demo workflows load (input/demo_*.png), rendered by the
demo dataset's own code so they are exactly the kind of picture the demo model knows.

    .venv/bin/python scripts/make_demo_inputs.py [--input-dir input]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diffusion.demo.quality import inpaint_mask  # noqa: E402
from diffusion.demo.shapes import Scene, render  # noqa: E402

SCENE = Scene(shape="circle", color="red", background="blue", position="center", size="large")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input-dir", type=Path, default=ROOT / "input")
    args = parser.parse_args(argv)
    args.input_dir.mkdir(parents=True, exist_ok=True)
    rgb = (np.clip(render(SCENE), 0.0, 1.0) * 255).round().astype(np.uint8)
    Image.fromarray(rgb).save(args.input_dir / "demo_red_circle_on_blue.png")
    # The same picture with the square around the shape transparent: LoadImage's mask (1 - alpha)
    # marks it for repainting.
    hole = inpaint_mask(SCENE).numpy() > 0.5
    alpha = np.where(hole, 0, 255).astype(np.uint8)[..., None]
    Image.fromarray(np.concatenate([rgb, alpha], axis=-1), "RGBA").save(args.input_dir / "demo_red_circle_hole.png")
    print(f"wrote demo inputs to {args.input_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
