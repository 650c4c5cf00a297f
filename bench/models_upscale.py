"""The upscale-model part of bench/models.py: a full-size 4x ESRGAN (RRDB, 23 blocks, 64 features).

`measure_upscale(path, size)` runs in a fresh process: it loads the model as UpscaleModelLoader
does (timed, twice: the second is reported), then upscales a random `size`^2 image 4x tiled the
way ImageUpscaleWithModel does (the tile the memory estimate chooses, halved on out-of-memory),
and reports the seconds, the tile used and the peak RSS of the upscale.
"""

from __future__ import annotations

import time
from pathlib import Path


def ensure_esrgan(cache_dir: Path) -> Path:
    """The cached full-size 4x ESRGAN (fp32 .pth, 67 MB), written on first use."""
    import torch

    from diffusion.models.upscale.make_esrgan import write_esrgan

    path = cache_dir / "esrgan-x4-full-fp32-seed0.pth"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_esrgan(str(path), family=None, size="full", seed=0, dtype=torch.float32)
    return path


def measure_upscale(path: str, size: int, peak_rss, reset_peak_rss) -> dict:
    import torch

    from diffusion.models.upscale import tiling
    from diffusion.models.upscale.loading import load_upscale_model

    load_upscale_model(path)  # warm imports and the page cache
    started = time.perf_counter()
    model = load_upscale_model(path)
    load_seconds = time.perf_counter() - started
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    tile = tiling.choose_tile(scale=model.scale, element_size=4, image_shape=tuple(image.shape),
                              parameter_bytes=model.parameter_bytes(), available=tiling.free_bytes(torch.device("cpu")))
    reset_peak_rss()
    started = time.perf_counter()
    with torch.inference_mode():
        out, used = tiling.upscale_with_oom_retry(image, model, scale=model.scale, tile=tile)
    seconds = time.perf_counter() - started
    return {"load_s": load_seconds, "upscale_s": seconds, "tile_chosen": tile, "tile_used": used,
            "peak_rss": peak_rss(), "output": list(out.shape), "parameters": model.parameter_bytes() // 4}
