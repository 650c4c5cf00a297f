"""GPU benchmark: SD1.5 at 512x512 and SDXL at 1024x1024, each precision/compile mode, batch 1 and 4.

    python bench/gpu.py [--cache-dir DIR] [--steps 20] [--families sd15,sdxl] [--batches 1,4]
    python bench/gpu.py --device cpu --size tiny --steps 2     # exercise every path on a CPU (small)

Without CUDA (and without --device cpu) it prints that it skipped and a JSON line, and exits 0.
Checkpoints are full-size random weights in the real layouts (`main.py make-checkpoint --size
full`, fp16 on disk, cached in the temp dir). The job runs through the real nodes:
CheckpointLoaderSimple -> CLIPTextEncode x2 -> EmptyLatentImage -> KSampler (euler, normal, CFG 7,
fixed seed) -> VAEDecode. Per family and mode it prints: time to first image from a cold start
(load + encode + a full sampling run + decode, first use of the kernels included), it/s of a
second, timed run for each batch size (CFG: each step is one UNet call on cond and uncond
together), peak device memory, and the PSNR of the batch-1 image against the fp32 mode's. Modes:
fp32 (reference), fp16, bf16 (where supported), and bf16 with `torch.compile` of the UNet in each
of `--compile-modes` (`--compile-unet`'s and TorchCompileModel's path: "default", "reduce-overhead"
= CUDA graphs for the fixed shape, "max-autotune-no-cudagraphs"; skipped with --no-compile), so one
run on a lent GPU chooses the mode by measurement. Random weights make a noise-like image, so
the PSNR measures numerical agreement of the paths, not picture quality.

The last line is JSON: {"device", "sd15_its", "sdxl_its", "sd15_peak_gb", "sdxl_peak_gb", "psnr_db", "runs"}
(the its and peaks are of the fastest mode at batch 1; psnr_db the lowest PSNR of a non-fp32 mode).
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

POSITIVE = "a lighthouse on a rocky coast at sunset, dramatic clouds, highly detailed"
NEGATIVE = "blurry, low quality"
PIXELS = {("sd15", "full"): 512, ("sdxl", "full"): 1024, ("sd15", "tiny"): 64, ("sdxl", "tiny"): 64}


def ensure_checkpoint(cache_dir: Path, family: str, size: str) -> Path:
    from app.cli import main

    path = cache_dir / f"{family}-{size}-fp16-seed0.safetensors"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} (once) ...", flush=True)
        code = main(["make-checkpoint", "--family", family, "--size", size, "--seed", "0", "--dtype", "fp16",
                     "--out", str(path)])
        if code != 0:
            raise SystemExit(f"make-checkpoint failed with exit status {code}")
    return path


def make_runtime(checkpoint: Path, base: Path, *, cpu: bool, precision: str):
    from nodes.api.runtime import DeviceRequest, NodeRuntime

    runtime = NodeRuntime.for_directory(base, devices=DeviceRequest(cpu=cpu, precision=precision))
    runtime.folders.ensure_dirs()
    folder = runtime.folders.models_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / checkpoint.name).symlink_to(checkpoint)
    runtime.folders.follow_outside_symlinks = True
    return runtime


def run_mode(runtime, checkpoint: Path, *, pixels: int, steps: int, batches: list[int], compile_backend: str | None,
             sync, compile_mode: str | None = None) -> dict:
    """Cold first image, then timed runs per batch size; returns the figures and the batch-1 image."""
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

    def sample(model, positive, negative, batch):
        (latent,) = call(EmptyLatentImage, width=pixels, height=pixels, batch_size=batch)
        return call(KSampler, model=model, seed=42, steps=steps, cfg=7.0, sampler_name="euler", scheduler="normal",
                    positive=positive, negative=negative, latent_image=latent, denoise=1.0)[0]

    started = time.perf_counter()
    model, clip, vae = call(CheckpointLoaderSimple, ckpt_name=checkpoint.name)
    if compile_backend is not None:
        model = model.clone()
        model.compile_backend = compile_backend
        model.compile_mode = compile_mode
    (positive,) = call(CLIPTextEncode, text=POSITIVE, clip=clip)
    (negative,) = call(CLIPTextEncode, text=NEGATIVE, clip=clip)
    (image,) = call(VAEDecode, samples=sample(model, positive, negative, 1), vae=vae)
    sync()
    result = {"first_image_s": time.perf_counter() - started, "image": image, "its": {}}
    for batch in batches:
        sync()
        began = time.perf_counter()
        sample(model, positive, negative, batch)
        sync()
        result["its"][batch] = steps / (time.perf_counter() - began)
    result["unet_dtype"] = str(next(model.model.parameters()).dtype).removeprefix("torch.")
    return result


def bench_modes(*, cuda: bool, bf16: bool, compile_modes: list[str]) -> list[tuple[str, str, str | None, str | None]]:
    """(name, precision, compile backend, compile mode) of each run: fp32 first (the reference), fp16 on
    CUDA, bf16 where supported, then bf16 compiled in each mode (CUDA only: a CPU compile takes minutes)."""
    from nodes.api.runtime import COMPILE_MODES

    unknown = [m for m in compile_modes if m not in COMPILE_MODES]
    if unknown:
        raise SystemExit(f"unknown compile mode(s) {', '.join(unknown)}; choose from {', '.join(COMPILE_MODES)}")
    modes = [("fp32", "fp32", None, None)]
    if cuda:
        modes.append(("fp16", "fp16", None, None))
    if bf16:
        modes.append(("bf16", "bf16", None, None))
        if cuda:
            modes += [("bf16+compile" if m == "default" else f"bf16+compile:{m}", "bf16", "inductor", m)
                      for m in compile_modes]
    return modes


def psnr(a, b) -> float:
    mse = float(((a.float() - b.float()) ** 2).mean())
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "latentgraph-bench"))
    parser.add_argument("--device", choices=("auto", "cpu"), default="auto",
                        help="auto: CUDA if present, else skip; cpu: run anyway on the CPU")
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--families", default="sd15,sdxl")
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--compile-modes", default="default,reduce-overhead,max-autotune-no-cudagraphs",
                        help="torch.compile modes of the bf16+compile runs (CUDA only)")
    args = parser.parse_args(argv)

    import torch

    cuda = torch.cuda.is_available() and args.device == "auto"
    if not cuda and args.device != "cpu":
        print("no CUDA device: skipped (use --device cpu to exercise the paths on the CPU)")
        print(json.dumps({"device": "cpu", "skipped": True}))
        return 0
    device_name = torch.cuda.get_device_name() if cuda else "cpu"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    modes = bench_modes(cuda=cuda, bf16=not cuda or torch.cuda.is_bf16_supported(),
                        compile_modes=[] if args.no_compile else args.compile_modes.split(","))
    batches = [int(b) for b in args.batches.split(",")]
    runs, summary = [], {"device": device_name}
    lowest_psnr = math.inf
    for family in args.families.split(","):
        checkpoint = ensure_checkpoint(Path(args.cache_dir), family, args.size)
        pixels = PIXELS[(family, args.size)]
        reference = None
        best = None
        for mode, precision, backend, compile_mode in modes:
            with tempfile.TemporaryDirectory(prefix="latentgraph-bench-") as tmp:
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
                runtime = make_runtime(checkpoint, Path(tmp), cpu=not cuda, precision=precision)
                try:
                    result = run_mode(runtime, checkpoint, pixels=pixels, steps=args.steps, batches=batches,
                                      compile_backend=backend, sync=sync, compile_mode=compile_mode)
                except Exception as exc:  # a mode the device cannot run is reported, not fatal
                    print(f"{family} {mode}: failed: {type(exc).__name__}: {exc}", flush=True)
                    runs.append({"family": family, "mode": mode, "error": f"{type(exc).__name__}: {exc}"})
                    continue
                finally:
                    del runtime
                    gc.collect()
                    if cuda:
                        torch.cuda.empty_cache()
            peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
            image = result.pop("image")
            if reference is None:
                reference = image
            value = psnr(image, reference)
            if mode != "fp32":
                lowest_psnr = min(lowest_psnr, value)
            row = {"family": family, "mode": mode, "pixels": pixels, "first_image_s": round(result["first_image_s"], 2),
                   "its": {str(b): round(v, 2) for b, v in result["its"].items()},
                   "peak_gb": None if peak is None else round(peak, 2), "psnr_vs_fp32_db": round(value, 1)
                   if math.isfinite(value) else None, "unet_dtype": result["unet_dtype"]}
            runs.append(row)
            print(json.dumps(row), flush=True)
            if best is None or result["its"][batches[0]] > best["its"][str(batches[0])]:
                best = row
        if best is not None:
            summary[f"{family}_its"] = best["its"][str(batches[0])]
            summary[f"{family}_peak_gb"] = best["peak_gb"]
            summary[f"{family}_best_mode"] = best["mode"]
    summary["psnr_db"] = round(lowest_psnr, 1) if math.isfinite(lowest_psnr) else None
    summary["runs"] = runs
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
