"""`make-checkpoint --kind taesd | taesdxl` (random decoder weights in the released layout) and
the `inspect` recogniser. The two files have one layout (the weights differ), so `inspect`
names it "taesd" and says it may be either. There is no tiny size: the released decoder is
already small (1.2M parameters, 4.9 MB in fp32)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from diffusion.checkpoints.save_checkpoint import write_tensors
from diffusion.models.clip_vision.make_clip_vision import component  # inspect's component summary
from diffusion.models.taesd.model import decoder


def random_decoder_tensors(*, seed: int = 0, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    with torch.random.fork_rng():  # nn.Conv2d's own initialisation, seeded, leaving the global RNG as it was
        torch.manual_seed(seed)
        model = decoder(4)
    return {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}


def write_taesd_decoder(out: str, *, family: str | None, size: str, seed: int, dtype: torch.dtype) -> int:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_tensors(path, random_decoder_tensors(seed=seed, dtype=dtype))
    return path.stat().st_size


def _shape(sd: Mapping, key: str) -> tuple[int, ...]:
    shape_of = getattr(sd, "shape", None)
    return tuple(shape_of(key)) if callable(shape_of) else tuple(sd[key].shape)


def recognise_taesd_decoder(sd: Mapping) -> dict | None:
    keys = set(sd.keys())
    if not {"1.weight", "3.conv.0.weight", "7.weight", "19.weight"} <= keys or "7.bias" in keys:
        return None
    if _shape(sd, "19.weight")[0] != 3:
        return None
    channels = _shape(sd, "1.weight")[1]
    label = f"TAESD decoder, {channels} latent channels (taesd_decoder / taesdxl_decoder layout)"
    return {"components": {label: component(sd, list(keys))}, "latent_channels": channels}
