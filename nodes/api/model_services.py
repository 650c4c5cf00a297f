"""The model services of one process, reached as `ctx.runtime.models` (nodes/api/runtime.py).

Created on first use from the runtime's `DeviceRequest`: the device and dtypes are decided
then, once. The UNet's precision: "auto" is bf16 weights in channels-last layout on a CPU
with native bf16 instructions (AVX512-BF16 or AMX), else what
`diffusion.memory.devices.choose_devices` picks (bf16/fp16 on GPUs, fp32 elsewhere). On such
a CPU bench/sampling.py measured the bf16 path 1.75x faster per step than fp32 (a busy
machine; ~3.5x for one quiet UNet call) at 45 dB PSNR of the decoded image against fp32.
Text encoders and VAE stay fp32 on the CPU: they run once per prompt and the VAE is
sensitive to rounding. "fp32" keeps everything in fp32.

`LoadedFiles` keeps what was loaded from a file, keyed by path, size and mtime, for as long
as some handle from that load is still alive (weak references): two loader nodes naming the
same file, or a loader re-run after its cache entry was dropped, share one copy of the
weights, and a changed file is loaded afresh. Given the file's `source` (`file_source(path)`: its resolved
path), every model patcher a load made is marked with it (`ModelPatcher.source`), which is how the model
manager knows which resident models the next queued prompts need (`ModelServices.models_needed_soon`).

Every model that computes goes through the manager, not only the UNet and text encoders: a VAE handle carries
its own patcher (`VAEHandle.patchers()`), and ControlNets, upscale, CLIP vision, style and GLIGEN models get
one from `managed_patcher` (one per module, kept on it), which their nodes load before computing.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from diffusion.memory.devices import DeviceChoice, choose_devices, choose_dtype, total_memory
from diffusion.memory.model_manager import ModelManager
from diffusion.memory.patcher import MANAGED_PATCHER_ATTRIBUTE, ModelPatcher, managed_patcher_of
from diffusion.memory.planner import GB, MemoryPolicy
from diffusion.models.text.text_encode import CLIPHandle
from diffusion.models.unet.compute import compile_problem
from diffusion.models.unet.prepacked import enable_weight_packing
from diffusion.models.vae.handle import VAEHandle


def cpu_has_fast_bf16() -> bool:
    """True when this CPU runs bf16 matrix products natively (AVX512-BF16 or AMX), read from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool({"avx512_bf16", "amx_bf16"} & flags)
    return False


def resolve_device_choice(cpu: bool = False, precision: str = "auto", vae_precision: str = "auto") -> DeviceChoice:
    """The device and dtypes for the `--cpu` flag and the precision options: the process's one device decision."""
    choice = choose_devices(cpu=cpu, precision=precision)
    if precision == "auto" and choice.device.type == "cpu" and cpu_has_fast_bf16():
        choice = dataclasses.replace(choice, unet_dtype=torch.bfloat16)
    if vae_precision != "auto":
        choice = dataclasses.replace(choice, vae_dtype=choose_dtype(choice.device, vae_precision))
    return choice


def prepare_unet(model, choice: DeviceChoice):
    """Lay a freshly loaded UNet out for fast inference on the chosen device; returns it.

    On the CPU in bf16, channels-last weights let oneDNN run its fast bf16 convolution
    kernels with no layout conversions (about 2x faster than the default layout there;
    no gain in fp32, so fp32 keeps the default layout). Values are unchanged.
    """
    if choice.device.type == "cpu" and choice.unet_dtype == torch.bfloat16:
        model.model.to(memory_format=torch.channels_last)
    if choice.pack_cpu_weights:  # only ever set for a CPU device (ModelServices.create)
        # at load, so every call of this model takes the same path; plain weights to files where configured
        enable_weight_packing(model.model, file_dir=choice.weight_file_dir)
    if choice.compile_mode is not None:  # --compile-unet: compiled at first use, like TorchCompileModel
        model.compile_backend, model.compile_mode = "inductor", choice.compile_mode
    return model


def file_source(path: str | os.PathLike) -> str:
    """The `ModelPatcher.source` of a model loaded from `path`: its resolved path (server/needed_models.py
    resolves the queued prompts' file names the same way)."""
    return str(Path(path).resolve())


def mark_source(values: Iterable[Any], source: str) -> None:
    """Mark every model patcher among a load's handles with `source`: a MODEL patcher itself, a CLIP handle's
    encoder patchers, a VAE handle's patcher (other handles get theirs from `managed_patcher`)."""
    for value in values:
        if isinstance(value, ModelPatcher):
            value.source = source
        elif isinstance(value, (CLIPHandle, VAEHandle)):
            for patcher in value.patchers():
                patcher.source = source




def managed_patcher(module: torch.nn.Module, choice: DeviceChoice, *, source: str | None = None,
                    streamable: bool = False) -> ModelPatcher:
    """The one ModelPatcher the model manager tracks for `module` (a ControlNet's network, an upscale model, a
    CLIP vision or GLIGEN model): made on first use, computing on `choice.device` and resting on its offload
    device, and kept on the module itself, so every handle sharing the module (a ControlNet with another union
    type, say) shares one base and counts once. `source`: the file it came from (`file_source`).
    `streamable`: whether the manager may stream it block by block (only for code that runs it inside
    `patcher.computing()`, as ControlNets do); other models are loaded whole, as before they were managed."""
    patcher = managed_patcher_of(module)
    if patcher is None:
        patcher = ModelPatcher(module, load_device=choice.device, offload_device=choice.offload_device)
        patcher.streamable = streamable
        module.__dict__[MANAGED_PATCHER_ATTRIBUTE] = patcher  # a plain attribute: not a submodule, not in the state dict
    if source is not None and patcher.source is None:
        patcher.source = source
    return patcher


class LoadedFiles:
    """Results of loading files, shared while any of their handles is alive; small raw files kept LRU."""

    def __init__(self, keep_raw: int = 4) -> None:
        self._handles: dict[Hashable, tuple[Any, ...]] = {}
        self._raw: OrderedDict[Hashable, Any] = OrderedDict()
        self._keep_raw = keep_raw
        self._lock = threading.RLock()

    def handles(self, key: Hashable, load: Callable[[], tuple], *, source: str | None = None) -> tuple:
        """`load()`'s tuple of handles (None entries allowed), reused while every handle in it is alive; a
        fresh load's model patchers are marked with `source` (the file's `file_source`) when given."""
        with self._lock:
            refs = self._handles.get(key)
            if refs is not None:
                values = tuple(None if ref is None else ref() for ref in refs)
                if all((ref is None) == (value is None) for ref, value in zip(refs, values, strict=True)):
                    return values
            values = tuple(load())
            if source is not None:
                mark_source(values, source)
            self._handles[key] = tuple(None if v is None else weakref.ref(v) for v in values)
            self._forget_dead()
            return values

    def raw(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """`load()`'s value (e.g. a LoRA state dict), the last `keep_raw` of them kept in memory."""
        with self._lock:
            if key in self._raw:
                self._raw.move_to_end(key)
                return self._raw[key]
            value = load()
            self._raw[key] = value
            while len(self._raw) > self._keep_raw:
                self._raw.popitem(last=False)
            return value

    def _forget_dead(self) -> None:
        dead = [k for k, refs in self._handles.items() if any(r is not None and r() is None for r in refs)]
        for key in dead:
            del self._handles[key]

    def clear(self) -> None:
        with self._lock:
            self._handles.clear()
            self._raw.clear()


def memory_policy(request: Any) -> MemoryPolicy:
    """The MemoryPolicy of a DeviceRequest's VRAM flags."""
    def gb(value: float | None) -> int | None:
        return None if value is None else int(value * GB)

    return MemoryPolicy(getattr(request, "memory", "normal"), budget_bytes=gb(getattr(request, "vram_budget_gb", None)),
                        reserve_bytes=gb(getattr(request, "reserve_vram_gb", None)))


@dataclass
class ModelServices:
    """Device choice, model manager and loaded-file cache of one process."""

    choice: DeviceChoice
    manager: ModelManager
    files: LoadedFiles

    @classmethod
    def create(cls, request: Any, *, budget_bytes: int | None = None) -> ModelServices:
        """Services for a `DeviceRequest` (its `cpu` and `precision`): decides the device, once."""
        choice = resolve_device_choice(bool(request.cpu), request.precision, getattr(request, "vae_precision", "auto"))
        policy = memory_policy(request)
        # CPU weights packed for oneDNN (a ~1.8x faster fp32 UNet) cost an extra copy: not when memory is short.
        packing = getattr(request, "weight_packing", True) and policy.name in ("normal", "high")
        compile_mode = getattr(request, "compile_unet", None)
        problem = compile_problem("inductor", choice.device) if compile_mode is not None else None
        if problem is not None:
            raise RuntimeError(f"--compile-unet: {problem}")
        choice = dataclasses.replace(choice, pack_cpu_weights=bool(packing and choice.device.type == "cpu"),
                                     weight_file_dir=getattr(request, "weight_file_dir", None), compile_mode=compile_mode)
        if budget_bytes is None and policy.budget_bytes is not None:
            budget_bytes = policy.usable_bytes(total_memory(choice.device), gpu=choice.device.type == "cuda")
        manager = ModelManager(choice.device, offload_device=choice.offload_device, budget_bytes=budget_bytes,
                               policy=policy, file_dir=choice.weight_file_dir)
        return cls(choice=choice, manager=manager, files=LoadedFiles())

    def load(self, patchers, *, work_bytes: int = 0) -> None:
        """Put these ModelPatchers on the compute device (call right before they compute), leaving
        `work_bytes` for the computation (the planner streams a model that cannot fit whole)."""
        self.manager.load_models(list(patchers), work_bytes=work_bytes)

    def load_for_work(self, patchers, work: Callable[[int], int]) -> None:
        """`load` with the computation's bytes as `work(room)`, room being what the budget leaves beside these
        models: a computation that tiles itself when short (a VAE decode) can then ask for a tile's bytes
        instead of evicting other models for the whole (VAEHandle.load_with)."""
        patchers = list(patchers)
        room = max(self.manager.budget_bytes - sum(p.model_size_bytes() for p in patchers), 0)
        self.load(patchers, work_bytes=work(room))

    def models_needed_soon(self, sources: Iterable[str]) -> None:
        """The files (`file_source` strings) the next queued prompts load: the manager evicts the models loaded
        from them last."""
        self.manager.set_needed_soon(sources)

    def unload_all(self) -> None:
        """Send every loaded model back to its offload device and forget the file cache (/free)."""
        self.manager.unload_all()
        self.files.clear()
