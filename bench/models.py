"""Model benchmarks: load a full-size SD1.5 fp16 checkpoint, and run one UNet forward on CPU.

    python bench/models.py [--cache-dir DIR] [--repeats N]

The checkpoint is written once with the project's own writer (random weights, real shapes)
and cached under the temp dir. Loading is measured in a fresh subprocess: it loads twice
(warming imports and the page cache) and reports the second load, with the peak-RSS mark
reset in between, so peak RSS is that of the load (plus the interpreter and torch). The last printed line is
JSON with `load_sd15_s`, `load_peak_rss_gb`, `weights_gb`, `unet_fwd_fp32_s`,
`unet_fwd_bf16_s` (plus `rss_after_touching_weights_gb`: RSS once every weight page has
been read, since a memory-mapped load reads pages lazily), and for a full-size 4x ESRGAN
(bench/models_upscale.py) `esrgan_load_s` and a tiled 4x upscale of a 1024^2 image:
`esrgan_upscale_s`, `esrgan_tile`, `esrgan_upscale_peak_rss_gb` (`--upscale-size`, `--skip-upscale`), and for a
full-size SD1.5 ControlNet (make-checkpoint --kind controlnet, fp16), loaded the same way in a fresh process:
`controlnet_load_s`, `controlnet_load_peak_rss_gb`, `controlnet_weights_gb` (`--skip-controlnet`).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GB = 1024**3


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process since start (or since `_reset_peak_rss`)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def ensure_checkpoint(cache_dir: Path) -> Path:
    """The cached full-size SD1.5 fp16 file, written on first use."""
    import torch

    from diffusion.checkpoints.make_checkpoint import write_checkpoint

    path = cache_dir / "sd15-full-fp16-seed0.safetensors"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        print(f"writing {path} (once) ...", flush=True)
        write_checkpoint(path, "sd15", "full", seed=0, dtype=torch.float16)
        print(f"  wrote {path.stat().st_size / GB:.2f} GB in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def measure_load(path: str) -> dict:
    """Run inside a fresh process: load to ready in fp16 twice (the first pays one-off imports
    and warms the page cache), report the second's seconds and peak RSS, and the weight bytes."""
    import gc

    import torch

    from diffusion.checkpoints.loader import load_checkpoint

    first = load_checkpoint(path, dtype=torch.float16)
    del first
    gc.collect()
    if not _reset_peak_rss():
        print("warning: cannot reset peak RSS; it includes the warm-up load", file=sys.stderr)
    started = time.perf_counter()
    loaded = load_checkpoint(path, dtype=torch.float16)
    seconds = time.perf_counter() - started
    peak = _peak_rss_bytes()
    modules = [loaded.model.model, loaded.vae.model, *(p.model for p in loaded.clip.patchers())]
    weight_bytes = sum(p.numel() * p.element_size() for m in modules for p in m.parameters())
    with torch.no_grad():
        for module in modules:
            for param in module.parameters():
                param.float().sum()  # read every page
    return {"seconds": seconds, "peak_rss": peak, "weights": weight_bytes, "touched_rss": _peak_rss_bytes()}


def ensure_controlnet(cache_dir: Path) -> Path:
    """The cached full-size SD1.5 ControlNet (fp16, original layout), written on first use."""
    import torch

    from diffusion.models.controlnet.make import write_controlnet

    path = cache_dir / "controlnet-sd15-full-fp16-seed0.safetensors"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} (once) ...", flush=True)
        write_controlnet(str(path), family="sd15", size="full", seed=0, dtype=torch.float16)
    return path


def measure_controlnet_load(path: str) -> dict:
    """Run inside a fresh process: load the ControlNet as ControlNetLoader does, twice (the first warms imports
    and the page cache), and report the second's seconds, peak RSS and weight bytes."""
    import gc

    import torch

    from diffusion.models.controlnet.load import load_controlnet

    first = load_controlnet(path, dtype=torch.float16)
    del first
    gc.collect()
    if not _reset_peak_rss():
        print("warning: cannot reset peak RSS; it includes the warm-up load", file=sys.stderr)
    started = time.perf_counter()
    loaded = load_controlnet(path, dtype=torch.float16)
    seconds = time.perf_counter() - started
    weights = sum(p.numel() * p.element_size() for p in loaded.network.parameters())
    return {"seconds": seconds, "peak_rss": _peak_rss_bytes(), "weights": weights}


def _controlnet_results(cache_dir: Path) -> dict:
    path = ensure_controlnet(cache_dir)
    load = _load_in_subprocess(path, "--measure-controlnet-load")
    print(f"ControlNet SD1.5 (full) load: {load['seconds']:.2f} s, peak RSS {load['peak_rss'] / GB:.2f} GB, "
          f"weights {load['weights'] / GB:.2f} GB (fp16)", flush=True)
    return {"controlnet_load_s": round(load["seconds"], 3),
            "controlnet_load_peak_rss_gb": round(load["peak_rss"] / GB, 3),
            "controlnet_weights_gb": round(load["weights"] / GB, 3)}


def _load_in_subprocess(path: Path, flag: str = "--measure-load") -> dict:
    command = [sys.executable, __file__, flag, str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def unet_forward_seconds(path: Path, dtype_name: str, repeats: int) -> float:
    """Best-of-`repeats` seconds of one SD1.5 UNet forward, batch 2, 32x32 latent, on CPU
    (the minimum, because a shared machine only ever adds noise upwards)."""
    import torch

    from diffusion.checkpoints.loader import load_unet

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    patcher = load_unet(path, dtype=dtype)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 32, 32, generator=generator).to(dtype)
    context = torch.randn(2, 77, 768, generator=generator).to(dtype)
    timesteps = torch.tensor([500.0, 500.0])
    times = []
    with torch.inference_mode():
        patcher.model(x, timesteps, context)  # warm-up
        for _ in range(repeats):
            started = time.perf_counter()
            patcher.model(x, timesteps, context)
            times.append(time.perf_counter() - started)
    del patcher
    return min(times)


def _upscale_results(cache_dir: Path, size: int) -> dict:
    from bench.models_upscale import ensure_esrgan

    path = ensure_esrgan(cache_dir)
    command = [sys.executable, __file__, "--measure-upscale", str(path), "--upscale-size", str(size)]
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    up = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"ESRGAN 4x (full): load {up['load_s']:.2f} s; {size}^2 -> {up['output'][-1]}^2 tiled at "
          f"{up['tile_used']} px (chosen {up['tile_chosen']}): {up['upscale_s']:.1f} s, "
          f"peak RSS {up['peak_rss'] / GB:.2f} GB", flush=True)
    return {"esrgan_load_s": round(up["load_s"], 3), "esrgan_upscale_s": round(up["upscale_s"], 3),
            "esrgan_tile": up["tile_used"], "esrgan_upscale_peak_rss_gb": round(up["peak_rss"] / GB, 3)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "latentgraph-bench"))
    parser.add_argument("--repeats", type=int, default=3, help="timed UNet forward calls per dtype (best of)")
    parser.add_argument("--measure-load", help=argparse.SUPPRESS)
    parser.add_argument("--upscale-size", type=int, default=1024, help="side of the image the 4x ESRGAN upscales")
    parser.add_argument("--skip-upscale", action="store_true", help="leave out the ESRGAN measurements")
    parser.add_argument("--measure-upscale", help=argparse.SUPPRESS)
    parser.add_argument("--skip-controlnet", action="store_true", help="leave out the ControlNet load measurement")
    parser.add_argument("--measure-controlnet-load", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_load:
        print(json.dumps(measure_load(args.measure_load)))
        return 0
    if args.measure_controlnet_load:
        print(json.dumps(measure_controlnet_load(args.measure_controlnet_load)))
        return 0
    if args.measure_upscale:
        from bench.models_upscale import measure_upscale

        print(json.dumps(measure_upscale(args.measure_upscale, args.upscale_size, _peak_rss_bytes, _reset_peak_rss)))
        return 0
    path = ensure_checkpoint(Path(args.cache_dir))
    load = _load_in_subprocess(path)
    print(f"load to ready: {load['seconds']:.2f} s, peak RSS {load['peak_rss'] / GB:.2f} GB, "
          f"weights {load['weights'] / GB:.2f} GB (fp16)", flush=True)
    fp32 = unet_forward_seconds(path, "fp32", args.repeats)
    print(f"UNet forward fp32: {fp32:.2f} s", flush=True)
    bf16 = unet_forward_seconds(path, "bf16", args.repeats)
    print(f"UNet forward bf16: {bf16:.2f} s", flush=True)
    results = {}
    if not args.skip_upscale:
        results = _upscale_results(Path(args.cache_dir), args.upscale_size)
    if not args.skip_controlnet:
        results.update(_controlnet_results(Path(args.cache_dir)))
    print(json.dumps({
        **results,
        "load_sd15_s": round(load["seconds"], 3),
        "load_peak_rss_gb": round(load["peak_rss"] / GB, 3),
        "weights_gb": round(load["weights"] / GB, 3),
        "rss_after_touching_weights_gb": round(load["touched_rss"] / GB, 3),
        "unet_fwd_fp32_s": round(fp32, 3),
        "unet_fwd_bf16_s": round(bf16, 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
