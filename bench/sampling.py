"""Sampling benchmark: KSampler on a full-size SD1.5-layout checkpoint on the CPU, fp32 against the default path.

    python bench/sampling.py [--cache-dir DIR] [--steps 10] [--size 256] [--modes fp32,default]

The job: CheckpointLoaderSimple -> CLIPTextEncode (positive, negative) -> EmptyLatentImage
(256x256) -> KSampler (euler, normal, CFG 7, 10 steps, fixed seed) -> VAEDecode, run through
the real nodes. The checkpoint (random weights in the real SD1.5 shapes, fp16 on disk, about
2 GB) is written once by `main.py make-checkpoint --size full` and cached in the temp dir.

Each mode runs in its own runtime: "fp32" sets the runtime option precision=fp32; "default"
leaves it unset (what `main.py` does: bf16 UNet in channels-last layout on a CPU with native
bf16, text encoders and VAE in fp32). In both modes the UNet's convolutions (and, in bf16, its
GEGLU projections) run on weights prepacked once for oneDNN (diffusion/models/unet/prepacked.py).
A one-step KSampler run first warms the kernels, then the timed run reports seconds per step
(KSampler wall time / steps, previews on as by default; its first step also packs the weights).
The PSNR compares the default path's decoded image with fp32's. With random weights the image
is noise-like, so the PSNR measures numerical agreement of the two paths, not picture quality.

The last printed line is JSON: {"s_per_it_fp32", "s_per_it_default", "psnr_default_vs_fp32_db", ...}.
Timings depend on what else the machine runs: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHECKPOINT_NAME = "sd15-full-fp16-seed0.safetensors"  # shared with bench/models.py
POSITIVE = "a lighthouse on a rocky coast at sunset, dramatic clouds, highly detailed"
NEGATIVE = "blurry, low quality"


def ensure_checkpoint(cache_dir: Path) -> Path:
    """The cached full-size SD1.5 checkpoint, written with `make-checkpoint` on first use."""
    from app.cli import main

    path = cache_dir / CHECKPOINT_NAME
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} (once, about 2 GB) ...", flush=True)
        code = main(["make-checkpoint", "--family", "sd15", "--size", "full", "--seed", "0", "--dtype", "fp16",
                     "--out", str(path)])
        if code != 0:
            raise SystemExit(f"make-checkpoint failed with exit status {code}")
    return path


def runtime_for(checkpoint: Path, base: Path, precision: str | None):
    """A runtime over `base` whose checkpoints folder links to the cached file."""
    from nodes.api.runtime import DeviceRequest, NodeRuntime

    devices = DeviceRequest(cpu=True, precision=precision or "auto")
    runtime = NodeRuntime.for_directory(base, devices=devices)
    runtime.folders.ensure_dirs()
    folder = runtime.folders.models_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / checkpoint.name
    if not link.exists():
        link.symlink_to(checkpoint)
    runtime.folders.follow_outside_symlinks = True  # the checkpoint is linked in from the bench's cache
    return runtime


def run_job(runtime, checkpoint_name: str, *, steps: int, size: int, seed: int, cfg: float) -> dict:
    """Load, encode, sample (warm-up then timed) and decode through the nodes; returns timings and the image."""
    from graph.context import NodeContext
    from nodes.api.declare import DeclaredNodeType
    from nodes.library.conditioning.clip_text import CLIPTextEncode
    from nodes.library.latent.latent_ops import EmptyLatentImage
    from nodes.library.latent.vae_codec import VAEDecode
    from nodes.library.loaders.model_loaders import CheckpointLoaderSimple
    from nodes.library.sampling.ksampler import KSampler

    ctx = NodeContext(node_id="bench", prompt_id="bench", runtime=runtime)

    def call(node, **inputs):
        return DeclaredNodeType(node, runtime).execute(ctx, inputs).values

    started = time.perf_counter()
    model, clip, vae = call(CheckpointLoaderSimple, ckpt_name=checkpoint_name)
    loaded = time.perf_counter()
    (positive,) = call(CLIPTextEncode, text=POSITIVE, clip=clip)
    (negative,) = call(CLIPTextEncode, text=NEGATIVE, clip=clip)
    (latent,) = call(EmptyLatentImage, width=size, height=size, batch_size=1)
    sampler = {"model": model, "seed": seed, "cfg": cfg, "sampler_name": "euler", "scheduler": "normal",
               "positive": positive, "negative": negative, "latent_image": latent, "denoise": 1.0}
    warm = time.perf_counter()
    call(KSampler, steps=1, **sampler)
    timed = time.perf_counter()
    (samples,) = call(KSampler, steps=steps, **sampler)
    sampled = time.perf_counter()
    (image,) = call(VAEDecode, samples=samples, vae=vae)
    return {
        "load_s": loaded - started,
        "warmup_s": timed - warm,
        "s_per_it": (sampled - timed) / steps,
        "decode_s": time.perf_counter() - sampled,
        "unet_dtype": str(next(model.model.parameters()).dtype).removeprefix("torch."),
        "image": image,
    }


def psnr(a, b) -> float:
    """PSNR in dB of two images with values in 0..1 (inf when equal)."""
    mse = float(((a.float() - b.float()) ** 2).mean())
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "latentgraph-bench"))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", type=int, default=256, help="image width and height in pixels")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cfg", type=float, default=7.0)
    args = parser.parse_args(argv)

    import torch

    checkpoint = ensure_checkpoint(Path(args.cache_dir))
    results = {}
    with tempfile.TemporaryDirectory(prefix="latentgraph-bench-") as tmp:
        for mode, precision in (("fp32", "fp32"), ("default", None)):
            runtime = runtime_for(checkpoint, Path(tmp) / mode, precision)
            result = run_job(runtime, checkpoint.name, steps=args.steps, size=args.size, seed=args.seed, cfg=args.cfg)
            results[mode] = result
            print(f"{mode}: unet {result['unet_dtype']}, {result['s_per_it']:.3f} s/step "
                  f"(load {result['load_s']:.1f} s, warm-up step {result['warmup_s']:.1f} s, "
                  f"decode {result['decode_s']:.1f} s)", flush=True)
            del runtime
            gc.collect()
    fp32, default = results["fp32"], results["default"]
    value = psnr(default["image"], fp32["image"])
    print(f"speed-up of the default path: {fp32['s_per_it'] / default['s_per_it']:.2f}x; "
          f"PSNR default vs fp32: {value:.1f} dB (random weights: a noise-like image, so this measures "
          "numerical agreement, not picture quality)")
    summary = {
        "s_per_it_fp32": round(fp32["s_per_it"], 4),
        "s_per_it_default": round(default["s_per_it"], 4),
        "psnr_default_vs_fp32_db": round(value, 2) if math.isfinite(value) else value,
        "default_unet_dtype": default["unet_dtype"],
        "steps": args.steps,
        "size": args.size,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
