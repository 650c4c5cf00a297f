"""`make-checkpoint --kind upscaler-esrgan` and its `inspect` recogniser.

Random weights of an RRDBNet in the original ESRGAN key layout (the `model.N` Sequential of
xinntao's old architecture, as RealESRGAN_x4plus-era files and spandrel's ESRGAN detection use):

    model.0                      first conv (3 -> nf)
    model.1.sub.{i}.RDB{1,2,3}.conv{1..5}.0   the residual-in-residual dense blocks (growth gc)
    model.1.sub.{nb}             the trunk conv after the blocks
    model.3, model.6             the two 2x upsampling convs of a 4x model
    model.8, model.10            the HR conv and the last conv (nf -> 3)

full: the real 4x model (23 blocks, 64 features, growth 32); tiny: 1 block, 8 features, growth 32
(spandrel reads the growth as 32 in every ESRGAN file).
A `.safetensors` out path gets a safetensors file, anything else (`.pth`) a torch.save of plain
tensors, which torch.load(weights_only=True) reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

from diffusion.checkpoints.save_checkpoint import write_tensors
from diffusion.models.clip_vision.make_clip_vision import component  # inspect's component summary

SIZES = {"full": (23, 64, 32), "tiny": (1, 8, 32)}  # blocks, features, growth (spandrel assumes 32)
_BLOCK_KEY = re.compile(r"^model\.1\.sub\.(\d+)\.RDB1\.conv1\.0\.weight$")


def esrgan_shapes(blocks: int, features: int, growth: int) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(name: str, c_in: int, c_out: int) -> None:
        shapes[f"{name}.weight"] = (c_out, c_in, 3, 3)
        shapes[f"{name}.bias"] = (c_out,)

    conv("model.0", 3, features)
    for i in range(blocks):
        for r in (1, 2, 3):
            for c in range(1, 6):
                conv(f"model.1.sub.{i}.RDB{r}.conv{c}.0", features + (c - 1) * growth, features if c == 5 else growth)
    conv(f"model.1.sub.{blocks}", features, features)
    for name in ("model.3", "model.6", "model.8"):
        conv(name, features, features)
    conv("model.10", features, 3)
    return shapes


def random_esrgan(size: str = "tiny", *, seed: int = 0, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for key, shape in esrgan_shapes(*SIZES[size]).items():
        if key == "model.10.bias":  # mid-grey output, so the [0, 1] clamp keeps the picture
            value = torch.full(shape, 0.5)
        elif key.endswith(".bias"):
            value = torch.randn(shape, generator=generator) * 0.01
        else:  # He init, halved, so the activations stay in range
            fan_in = shape[1] * shape[2] * shape[3]
            value = torch.randn(shape, generator=generator) * (0.5 * (2.0 / fan_in) ** 0.5)
        tensors[key] = value.to(dtype)
    return tensors


def write_esrgan(out: str, *, family: str | None, size: str, seed: int, dtype: torch.dtype) -> int:
    tensors = random_esrgan(size, seed=seed, dtype=dtype)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".safetensors", ".sft"):
        write_tensors(path, tensors)
    else:
        torch.save(tensors, path)
    return path.stat().st_size


def _shape(sd: Mapping, key: str) -> tuple[int, ...]:
    shape_of = getattr(sd, "shape", None)
    return tuple(shape_of(key)) if callable(shape_of) else tuple(sd[key].shape)


def recognise_esrgan(sd: Mapping) -> dict | None:
    """An old-layout ESRGAN (RRDBNet): blocks, features, growth and scale from the keys."""
    keys = set(sd.keys())
    if "model.0.weight" not in keys or "model.1.sub.0.RDB1.conv1.0.weight" not in keys:
        return None
    blocks = 1 + max(int(m.group(1)) for k in keys if (m := _BLOCK_KEY.match(k)))
    features = _shape(sd, "model.0.weight")[0]
    growth = _shape(sd, "model.1.sub.0.RDB1.conv1.0.weight")[0]
    convs = sorted(int(k.split(".")[1]) for k in keys if re.fullmatch(r"model\.\d+\.weight", k))
    upsamplers = max(0, len(convs) - 3)  # first conv, HR conv and last conv besides the 2x upsamplers
    scale = 2 ** upsamplers
    label = f"ESRGAN {scale}x ({blocks} RRDB blocks, {features} features, growth {growth})"
    return {"components": {label: component(sd, list(keys))}, "architecture": "ESRGAN (RRDBNet)", "scale": scale,
            "blocks": blocks, "features": features, "growth": growth}
