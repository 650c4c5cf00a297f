"""ComfyUI's `comfy.utils` for custom node packs: progress bars, resizing, tiling and model files.

- `ProgressBar(total)` reports to the node it was created in (graph/running.py): `update(n)` and
  `update_absolute(value, total, preview)` become that node's WebSocket "progress" (and "preview")
  events, and stop the prompt with graph.context.Interrupted when it was interrupted, as ComfyUI's
  progress hook does. A hook set with `set_progress_bar_global_hook` replaces that reporting.
- `common_upscale`, `lanczos`, `bislerp` are latentgraph's resizing (diffusion/imaging/resample.py).
- `load_torch_file` always uses latentgraph's safe loader (diffusion/checkpoints/checkpoint.py):
  safetensors, or torch.load with weights_only; a pickle that would run code is refused with a
  CheckpointError, whatever `safe_load` says.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from diffusion.checkpoints.checkpoint import SAFETENSORS_SUFFIXES, load_state_dict, read_safetensors_header
from diffusion.imaging import resample
from graph.context import PreviewImage
from graph.running import running_node

PROGRESS_BAR_ENABLED = True
PROGRESS_BAR_HOOK: Callable[..., Any] | None = None


def set_progress_bar_enabled(enabled: bool) -> None:
    global PROGRESS_BAR_ENABLED
    PROGRESS_BAR_ENABLED = bool(enabled)


def set_progress_bar_global_hook(function: Callable[..., Any] | None) -> None:
    """Send every ProgressBar update to `function(value, total, preview, node_id=...)` instead (None: ours)."""
    global PROGRESS_BAR_HOOK
    PROGRESS_BAR_HOOK = function


def preview_image(preview: Any) -> PreviewImage | None:
    """ComfyUI's preview tuple ("JPEG"|"PNG", PIL image, max size) as an encoded PreviewImage."""
    if preview is None or isinstance(preview, PreviewImage):
        return preview
    if isinstance(preview, (tuple, list)) and len(preview) >= 2 and hasattr(preview[1], "save"):
        image_format = "PNG" if str(preview[0]).upper() == "PNG" else "JPEG"
        image = preview[1].convert("RGB")
        if len(preview) >= 3 and preview[2]:
            image.thumbnail((int(preview[2]), int(preview[2])))
        buffer = io.BytesIO()
        image.save(buffer, format=image_format)
        return PreviewImage(image_format, buffer.getvalue())
    raise TypeError(f"a ProgressBar preview must be (format, PIL image, max size), got {type(preview).__name__}")


class ProgressBar:
    """Progress of the node that created it (or of `node_id`'s running context when given)."""

    def __init__(self, total: int, node_id: str | None = None) -> None:
        self.total = int(total)
        self.current = 0
        self.context = running_node()
        self.node_id = node_id if node_id is not None else getattr(self.context, "node_id", None)

    def update_absolute(self, value: float, total: int | None = None, preview: Any = None) -> None:
        if total is not None:
            self.total = int(total)
        self.current = min(value, self.total) if self.total else value
        if PROGRESS_BAR_HOOK is not None:
            PROGRESS_BAR_HOOK(self.current, self.total, preview, node_id=self.node_id)
            return
        context = self.context or running_node()
        if context is not None and PROGRESS_BAR_ENABLED:
            context.progress(int(self.current), self.total, preview_image(preview))

    def update(self, value: float) -> None:
        self.update_absolute(self.current + value)


# --- resizing -------------------------------------------------------------------------------------


def common_upscale(samples: torch.Tensor, width: int, height: int, upscale_method: str, crop: str) -> torch.Tensor:
    """`samples` [B, C, H, W] resized to height x width: nearest-exact, bilinear, area, bicubic, lanczos or
    bislerp, after a centre crop to the new aspect ratio when crop is "center" ("disabled": none)."""
    return resample.resize(samples, width, height, upscale_method, crop)


def lanczos(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    return resample.lanczos(samples, width, height)


def bislerp(samples: torch.Tensor, width: int, height: int) -> torch.Tensor:
    return resample.bislerp(samples, width, height)


def _tile_starts(size: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, length) of the tiles along one axis, the last ones pulled back inside the image."""
    if tile <= overlap:
        raise ValueError(f"tile size ({tile}) must be larger than the overlap ({overlap})")
    placed = []
    for start in range(0, size, tile - overlap):
        start = max(0, min(size - overlap, start))
        placed.append((start, min(tile, size - start)))
    return placed


def get_tiled_scale_steps(width: int, height: int, tile_x: int, tile_y: int, overlap: int) -> int:
    return math.ceil(height / (tile_y - overlap)) * math.ceil(width / (tile_x - overlap))


def tiled_scale(samples: torch.Tensor, function: Callable[[torch.Tensor], torch.Tensor], tile_x: int = 64,
                tile_y: int = 64, overlap: int = 8, upscale_amount: float = 4, out_channels: int = 3,
                output_device: Any = "cpu", pbar: ProgressBar | None = None) -> torch.Tensor:
    """`function` applied tile by tile to `samples` [B, C, H, W], the overlapping tile edges feathered
    linearly over `overlap * upscale_amount` output pixels; `pbar` advances once per tile."""
    batch, _, height, width = samples.shape
    out_h, out_w = round(height * upscale_amount), round(width * upscale_amount)
    output = torch.empty(batch, out_channels, out_h, out_w, device=output_device)
    feather = round(overlap * upscale_amount)
    for b in range(batch):
        sample = samples[b:b + 1]
        if height <= tile_y and width <= tile_x:
            output[b:b + 1] = function(sample).to(output_device)
            if pbar is not None:
                pbar.update(1)
            continue
        total = torch.zeros(1, out_channels, out_h, out_w, device=output_device)
        weight = torch.zeros_like(total)
        for (y, h), (x, w) in itertools.product(_tile_starts(height, tile_y, overlap), _tile_starts(width, tile_x, overlap)):
            piece = function(sample[:, :, y:y + h, x:x + w]).to(output_device)
            mask = torch.ones_like(piece)
            for step in range(feather):
                edge = (step + 1) / feather
                for axis in (2, 3):
                    mask.narrow(axis, step, 1).mul_(edge)
                    mask.narrow(axis, mask.shape[axis] - 1 - step, 1).mul_(edge)
            top, left = round(y * upscale_amount), round(x * upscale_amount)
            ph, pw = piece.shape[-2:]
            total[:, :, top:top + ph, left:left + pw] += piece * mask
            weight[:, :, top:top + ph, left:left + pw] += mask
            if pbar is not None:
                pbar.update(1)
        output[b:b + 1] = total / weight
    return output


def repeat_to_batch_size(tensor: torch.Tensor, batch_size: int, dim: int = 0) -> torch.Tensor:
    """`tensor` cut or repeated along `dim` to `batch_size` entries."""
    size = tensor.shape[dim]
    if size > batch_size:
        return tensor.narrow(dim, 0, batch_size)
    if size < batch_size:
        repeats = [1] * tensor.ndim
        repeats[dim] = math.ceil(batch_size / size)
        return tensor.repeat(*repeats).narrow(dim, 0, batch_size)
    return tensor


# --- model files and state dicts --------------------------------------------------------------------


def load_torch_file(ckpt: str | Path, safe_load: bool = False, device: Any = None,
                    return_metadata: bool = False) -> dict[str, torch.Tensor] | tuple[dict[str, torch.Tensor], dict | None]:
    """The tensors of a model file through latentgraph's safe loader (never unpickles code);
    with return_metadata also the safetensors metadata (None for other files)."""
    path = Path(ckpt)
    tensors = dict(load_state_dict(path).items())
    if device is not None and torch.device(device).type != "cpu":
        tensors = {name: tensor.to(device) for name, tensor in tensors.items()}
    if not return_metadata:
        return tensors
    metadata = read_safetensors_header(path).get("__metadata__") if path.suffix.lower() in SAFETENSORS_SUFFIXES else None
    return tensors, metadata


def save_torch_file(sd: Mapping[str, torch.Tensor], ckpt: str | Path, metadata: dict | None = None) -> None:
    """Writes `sd` as a safetensors file (with string `metadata`)."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in sd.items()}, str(ckpt), metadata=metadata)


def calculate_parameters(sd: Mapping[str, torch.Tensor], prefix: str = "") -> int:
    return sum(tensor.nelement() for name, tensor in sd.items() if name.startswith(prefix))


def state_dict_key_replace(state_dict: dict, keys_to_replace: Mapping[str, str]) -> dict:
    for old, new in keys_to_replace.items():
        if old in state_dict:
            state_dict[new] = state_dict.pop(old)
    return state_dict


def state_dict_prefix_replace(state_dict: dict, replace_prefix: Mapping[str, str], filter_keys: bool = False) -> dict:
    """Keys starting with each old prefix get the new one; with filter_keys only those keys are kept,
    in a new dict (otherwise `state_dict` is changed in place and returned)."""
    out = {} if filter_keys else state_dict
    for old, new in replace_prefix.items():
        for key in [k for k in state_dict if k.startswith(old)]:
            out[new + key[len(old):]] = state_dict.pop(key)
    return out


def get_attr(obj: Any, attr: str) -> Any:
    for name in attr.split("."):
        obj = getattr(obj, name)
    return obj


def set_attr(obj: Any, attr: str, value: Any) -> Any:
    """Sets the dotted attribute `attr` of `obj`; returns the previous value."""
    *parents, last = attr.split(".")
    for name in parents:
        obj = getattr(obj, name)
    previous = getattr(obj, last)
    setattr(obj, last, value)
    return previous


def set_attr_param(obj: Any, attr: str, value: torch.Tensor) -> Any:
    return set_attr(obj, attr, torch.nn.Parameter(value, requires_grad=False))


def copy_to_param(obj: Any, attr: str, value: torch.Tensor) -> None:
    """Copies `value` into the existing parameter (in place, keeping its storage)."""
    get_attr(obj, attr).data.copy_(value)
