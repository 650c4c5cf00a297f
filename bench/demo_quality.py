"""Quality of the embedded demo model, measured (issue "An embedded default model").

    .venv/bin/python bench/demo_quality.py [--checkpoint PATH] [--count 200] [--steps 20] [--cfg 6]

Generates held-out prompts through load_checkpoint -> CLIPTextEncode -> KSampler (euler, normal)
-> VAEDecode with fixed seeds and reads the pictures back with `diffusion/demo/measure.py`; then
img2img recolouring and inpainting. The last printed line is a JSON object with `color_acc`,
`background_acc`, `shape_acc`, `position_acc`, `recolor_acc`, `inpaint_acc` (fractions 0..1)
and a few extra figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diffusion.demo.generate import load_demo  # noqa: E402
from diffusion.demo.quality import (  # noqa: E402
    accuracy,
    inpaint_cases,
    recolour_cases,
    run_img2img,
    run_roundtrip,
    run_txt2img,
    txt2img_cases,
)

DEFAULT_CHECKPOINT = "models/checkpoints/latentgraph-demo.safetensors"


def _grid(images: list[torch.Tensor], columns: int = 10) -> Image.Image:
    columns = max(1, min(columns, len(images)))
    rows = [torch.cat(images[i:i + columns], dim=1) for i in range(0, len(images) - columns + 1, columns)]
    array = (torch.cat(rows, dim=0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(array)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--count", type=int, default=200, help="txt2img prompts (default 200)")
    parser.add_argument("--edit-count", type=int, default=100, help="img2img and inpainting cases each (default 100)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=6.0)
    parser.add_argument("--denoise", type=float, default=0.7, help="img2img recolouring strength")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grid", default=None, help="write a PNG grid of the first 50 txt2img images here")
    args = parser.parse_args(argv)
    if args.count < 1 or args.edit_count < 1 or args.steps < 1:
        parser.error("--count, --edit-count and --steps must be >= 1")
    if not Path(args.checkpoint).is_file():
        print(f"demo_quality: no checkpoint at {args.checkpoint}; train one with `python main.py train-demo`",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    checkpoint = load_demo(args.checkpoint)
    options = {"steps": args.steps, "cfg": args.cfg}

    cases = txt2img_cases(args.count, args.seed)
    roundtrip = run_roundtrip(checkpoint, cases)
    generated = run_txt2img(checkpoint, cases, **options)
    recoloured = run_img2img(checkpoint, recolour_cases(args.edit_count, args.seed), denoise=args.denoise,
                             inpaint=False, **options)
    inpainted = run_img2img(checkpoint, inpaint_cases(args.edit_count, args.seed), denoise=1.0, inpaint=True,
                            **options)
    if args.grid:
        grid = _grid([image for _, _, image in generated[:50]])
        grid.resize((grid.width * 2, grid.height * 2), Image.Resampling.NEAREST).save(args.grid)

    figures = {
        "color_acc": accuracy(generated, "color"),
        "background_acc": accuracy(generated, "background"),
        "shape_acc": accuracy(generated, "shape"),
        "position_acc": accuracy(generated, "position"),
        "size_acc": accuracy(generated, "size"),
        "recolor_acc": accuracy(recoloured, "color"),
        "recolor_background_acc": accuracy(recoloured, "background"),
        "inpaint_acc": accuracy(inpainted, "shape"),
        "inpaint_background_kept": accuracy(inpainted, "background"),
        "vae_roundtrip_color_acc": accuracy(roundtrip, "color"),
        "vae_roundtrip_shape_acc": accuracy(roundtrip, "shape"),
        "prompts": len(generated),
        "edit_cases": len(recoloured),
        "steps": args.steps,
        "cfg": args.cfg,
        "seconds": round(time.monotonic() - started, 1),
    }
    for key, value in figures.items():
        print(f"{key:>24}: {value:.3f}" if isinstance(value, float) else f"{key:>24}: {value}")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
