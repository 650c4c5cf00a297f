"""The typed runtime every node reaches as `ctx.runtime`: folders, options, logger, models.

Built once per process by `app/engine.py` from the command-line flags (tests build one with
`NodeRuntime.for_directory`). Importing this module imports no torch: the device is decided
once, when the first node asks for `runtime.models` (see `nodes/api/model_services.py`),
from the one `DeviceRequest` the runtime was built with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from folders.layout import Folders
from nodes.api.limits import SizeLimits

if TYPE_CHECKING:
    from nodes.api.model_services import ModelServices

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PREVIEW_METHODS = ("none", "auto", "latent2rgb", "taesd")


# The model memory policies (diffusion/memory/planner.py POLICIES): --normalvram, --highvram, --lowvram, --novram.
MEMORY_POLICIES = ("normal", "high", "low", "none")
# torch.compile modes for --compile-unet (inductor): "reduce-overhead" records CUDA graphs for a fixed shape.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class DeviceRequest:
    """What the user asked for (`--cpu`, `--precision`, `--vae-precision`, the VRAM flags); resolved into a
    device choice on first use.

    precision "auto" is bf16 UNet weights on CPUs with native bf16, fp16 on GPUs, else fp32;
    vae_precision "auto" is bf16 on GPUs that have it, else fp32. `memory` is the model memory
    policy, `vram_budget_gb` caps what models and computation use, `reserve_vram_gb` is left free.
    `weight_packing` False (`--no-weight-packing`) keeps CPU UNet weights unpacked (plain eager
    PyTorch: slower, one copy of the weights less; the memory policies low/none imply it).
    `weight_file_dir` is where the plain copies of packed weights move to files on disk, so that the packed
    copies take their place in memory (the server uses temp/weights; None keeps them in memory).
    `compile_unet` (`--compile-unet [MODE]`) runs every loaded UNet through torch.compile (inductor) in
    that mode, compiled at its first use, as TorchCompileModel does for one workflow.
    """

    cpu: bool = False
    precision: str = "auto"
    vae_precision: str = "auto"
    memory: str = "normal"
    vram_budget_gb: float | None = None
    reserve_vram_gb: float | None = None
    weight_packing: bool = True
    weight_file_dir: str | None = None
    compile_unet: str | None = None

    def __post_init__(self) -> None:
        for name in ("precision", "vae_precision"):
            if getattr(self, name) not in PRECISIONS:
                raise ValueError(f"unknown {name.replace('_', ' ')} {getattr(self, name)!r}; "
                                 f"expected one of {', '.join(PRECISIONS)}")
        if self.compile_unet is not None and self.compile_unet not in COMPILE_MODES:
            raise ValueError(f"unknown compile mode {self.compile_unet!r}; expected one of {', '.join(COMPILE_MODES)}")
        if self.memory not in MEMORY_POLICIES:
            raise ValueError(f"unknown memory policy {self.memory!r}; expected one of {', '.join(MEMORY_POLICIES)}")


@dataclass
class NodeRuntime:
    """What nodes may use from the process. Nothing here is global: the executor hands it over."""

    folders: Folders
    devices: DeviceRequest = field(default_factory=DeviceRequest)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("latentgraph"))
    # Default for prompts whose extra_data names no preview method ("auto": previews on).
    preview_method: str = "auto"
    # ComfyUI's --disable-metadata: SaveImage writes no prompt/workflow text chunks.
    disable_metadata: bool = False
    # Memory budget of the model manager (None: 90% of the device).
    model_budget_bytes: int | None = None
    # What a prompt may ask nodes to allocate (--max-pixels, --max-batch, half the RAM): nodes/api/limits.py.
    limits: SizeLimits = field(default_factory=SizeLimits)
    _models: ModelServices | None = field(default=None, init=False, repr=False, compare=False)
    _models_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _needed_soon: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.preview_method not in PREVIEW_METHODS:
            raise ValueError(f"unknown preview method {self.preview_method!r}; "
                             f"expected one of {', '.join(PREVIEW_METHODS)}")

    @classmethod
    def for_directory(cls, base_dir: str | Path, *, devices: DeviceRequest | None = None) -> NodeRuntime:
        """A runtime whose folders all live under `base_dir` (handy in tests)."""
        return cls(folders=Folders(Path(base_dir)), devices=devices or DeviceRequest())

    @property
    def models(self) -> ModelServices:
        """Device choice, model manager and loaded-file cache: built (and the device decided) on first use."""
        with self._models_lock:
            if self._models is None:
                from nodes.api.model_services import ModelServices  # torch: only once a model node runs

                self._models = ModelServices.create(self.devices, budget_bytes=self.model_budget_bytes)
                self._models.models_needed_soon(self._needed_soon)
            return self._models

    @property
    def models_loaded(self) -> bool:
        """True once some node asked for `models` (and so torch and the device are set up)."""
        return self._models is not None

    def resident_models(self) -> list[dict]:
        """What the model manager holds on the device or streams (model, family, bytes, placement)."""
        if self._models is None:
            return []
        return self._models.manager.resident()

    def models_needed_soon(self, paths: Iterable[str]) -> None:
        """The model files (resolved paths) the next queued prompts load, told by the server's worker before
        each prompt: the model manager evicts the models loaded from them last. Kept until the manager is
        built when no model node has run yet (importing no torch meanwhile)."""
        with self._models_lock:
            self._needed_soon = tuple(str(p) for p in paths)
            models = self._models
        if models is not None:
            models.models_needed_soon(self._needed_soon)

    @property
    def needed_soon(self) -> tuple[str, ...]:
        """The model files last told by `models_needed_soon` (what a Ray worker reports in its description)."""
        return self._needed_soon

    def unload_models(self) -> bool:
        """Send every loaded model back to its offload device and forget the file cache (the /free route).

        Returns False when no model node has run yet (nothing to free).
        """
        if self._models is None:
            return False
        self._models.unload_all()
        return True


def preview_method(ctx: Any) -> str:
    """The prompt's preview method (its extra_data, then the runtime's default), normalised ("auto" if unknown)."""
    method = (ctx.extra_data or {}).get("preview_method") or ctx.runtime.preview_method
    return method if method in PREVIEW_METHODS else "auto"


def previews_enabled(ctx: Any) -> bool:
    """True unless the preview method is "none" (auto, latent2rgb and taesd all give latent2rgb previews)."""
    return preview_method(ctx) != "none"


def runtime_of(ctx: Any, node: str) -> NodeRuntime:
    """`ctx.runtime`, or a clear error naming the node when the context carries none."""
    runtime = ctx.runtime
    if runtime is None:
        raise RuntimeError(f"{node} needs a runtime (ctx.runtime is None): it reads folders or models from it")
    return runtime
