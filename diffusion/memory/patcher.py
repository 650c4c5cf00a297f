"""ModelPatcher: a handle on a model that can carry weight patches (LoRA) without mutating it.

Workflow outputs are immutable and cached, so a node that applies a LoRA must return a new
handle and leave its input as it was. `ModelPatcher.clone()` makes such a handle: it shares
the SAME base module and tensors (no copy) and copies only the list of patches.

How patched weights are used: the patched tensors are computed on demand
(`patched_weights()`, computed in float32 and cast back to the weight's dtype) and cached
per handle, keyed by the base tensor's identity, device and dtype, so moving the base model
to another device invalidates the cache honestly (`move_to` also frees every clone's cached
tensors, so no patched copy stays behind on a device the model left). `patched()` is a context manager that,
under a lock shared by every clone of the same base, swaps the module's Parameters for the
patched ones and restores the originals on exit; `__call__` runs the model inside it. The
base tensors are never written to: a run on one clone cannot leak into another, and the
base model in the cache is unchanged afterwards.

Patch format: `{param_name: (kind, tensors)}` added with a strength. Kinds:
- `"lora"`: tensors (up, down, alpha_or_None, mid_or_None); delta = (alpha/rank)·up@down,
  reshaped for convolutions (LoCon: down 3x3, up 1x1);
- `"diff"`: tensors (delta,); delta added as is (shape must match);
- `"scale"`: tensors (); the weight so far is multiplied by the strength (ComfyUI's `strength_model`,
  what the attention-multiply nodes use).

`compute_dtype` (None: the weights' own) runs the forward with every floating weight cast to that
dtype (ModelComputeDtype); `compile_backend` (None: eager) runs it through `torch.compile` with that
backend (TorchCompileModel, `--compile-unet`) and `compile_mode` (None: torch's default; e.g.
"reduce-overhead" for CUDA graphs, "max-autotune-no-cudagraphs"). All are per handle and copied on clone.

`source` says where the base model came from (the loaders set the resolved path of the file it was loaded
from; None for a model built in memory). It belongs to the base, so every clone reports the same string: the
model manager matches it against the files the next queued prompts name (`ModelManager.set_needed_soon`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from diffusion.memory.file_backed import offload_module_to_files
from diffusion.memory.streaming import Streamer
from diffusion.models.unet.prepacked import packable_bytes


class PatchError(ValueError):
    """A patch that does not fit the weight it targets."""


@dataclass(frozen=True)
class WeightPatch:
    """One patch on one parameter."""

    kind: str  # "lora" | "diff" | "scale"
    tensors: tuple
    strength: float
    source: str = ""  # a label (e.g. the LoRA file and its fingerprint) for cache keys


class _SharedBase:
    """The base module, the lock every clone uses while it swaps weights in, and the live clones."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.lock = threading.RLock()
        self.handles: weakref.WeakSet[ModelPatcher] = weakref.WeakSet()
        self.compiled: dict[str, Any] = {}  # "backend[:mode]" -> torch.compile(model) (TorchCompileModel)
        # Set by the model manager when the weights stay offloaded and stream block by block.
        self.streamer: Streamer | None = None
        self.source: str | None = None  # the file the model was loaded from (ModelPatcher.source)
        # Whether the model manager may stream it block by block: only models whose forward runs inside the
        # streamer (ModelPatcher.__call__ / computing()); others are loaded whole (ModelPatcher.streamable)
        self.streamable = True

    def __getstate__(self):
        """Copies and pickles carry the model only: a copy is a new base (its own lock, no clones yet, nothing
        compiled or streaming), as a deep copy of a module that keeps its patcher (managed_patcher) needs."""
        return {"model": self.model, "source": self.source, "streamable": self.streamable}

    def __setstate__(self, state) -> None:
        self.__init__(state["model"])
        self.source = state.get("source")
        self.streamable = state.get("streamable", True)

    def drop_patched_caches(self) -> None:
        """Forget every clone's patched tensors (they live on the old device after a move)."""
        for handle in list(self.handles):
            handle._cache.clear()


def lora_delta(up: torch.Tensor, down: torch.Tensor, alpha, mid, shape: torch.Size) -> torch.Tensor:
    """The weight change of one LoRA/LoCon pair, in float32, reshaped to `shape` (without strength)."""
    rank = down.shape[0]
    scale = (float(alpha) / rank) if alpha is not None else 1.0
    up32 = up.float()
    down32 = down.float()
    if mid is not None:  # LoCon with a mid (Tucker) kernel: down 1x1, mid kxk, up 1x1
        down32 = torch.einsum("i j ..., j r -> i r ...", mid.float(), down32.flatten(start_dim=1))
        delta = torch.einsum("o i, i r ... -> o r ...", up32.flatten(start_dim=1), down32)
    else:
        delta = up32.flatten(start_dim=1) @ down32.flatten(start_dim=1)
    if delta.numel() != torch.Size(shape).numel():
        raise PatchError(f"LoRA delta of shape {tuple(delta.shape)} cannot become a weight of shape {tuple(shape)}")
    return delta.reshape(shape) * scale


class ModelPatcher:
    """A handle on `model` plus weight patches; clones share the base weights.

    `model_info` carries detection facts (family, prediction, ...) for the layers above.
    `load_device` / `offload_device` tell the model manager where the model runs and rests.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        model_info: Any = None,
        load_device: torch.device | str | None = None,
        offload_device: torch.device | str | None = None,
        _shared: _SharedBase | None = None,
    ):
        self._shared = _shared or _SharedBase(model)
        self.model_info = model_info
        self.load_device = torch.device(load_device) if load_device is not None else torch.device("cpu")
        self.offload_device = torch.device(offload_device) if offload_device is not None else torch.device("cpu")
        self.patches: dict[str, list[WeightPatch]] = {}
        self.options: dict[str, Any] = {}  # free-form per-handle options (e.g. sampler hooks), copied on clone
        self.compute_dtype: torch.dtype | None = None
        self.compile_backend: str | None = None
        self.compile_mode: str | None = None
        self._cache: dict[str, tuple[tuple, torch.Tensor]] = {}
        self._shared.handles.add(self)

    @property
    def model(self) -> nn.Module:
        """The shared base module (read it; never write its tensors)."""
        return self._shared.model

    @property
    def source(self) -> str | None:
        """Where the base model came from (a loaded file's resolved path), the same for every clone."""
        return self._shared.source

    @source.setter
    def source(self, value: str | None) -> None:
        self._shared.source = value

    @property
    def streamable(self) -> bool:
        """Whether the model manager may stream this model block by block instead of loading it whole (False
        for models whose code reads their device from the weights and runs outside the streamer)."""
        return self._shared.streamable

    @streamable.setter
    def streamable(self, value: bool) -> None:
        self._shared.streamable = bool(value)

    def clone(self) -> ModelPatcher:
        """A new handle on the same base weights with a copy of the patch lists."""
        other = ModelPatcher(
            self.model,
            model_info=self.model_info,
            load_device=self.load_device,
            offload_device=self.offload_device,
            _shared=self._shared,
        )
        other.patches = {name: list(items) for name, items in self.patches.items()}
        other.options = dict(self.options)
        other.compute_dtype = self.compute_dtype
        other.compile_backend = self.compile_backend
        other.compile_mode = self.compile_mode
        return other

    def is_clone(self, other: ModelPatcher) -> bool:
        """True when both handles share the same base module."""
        return isinstance(other, ModelPatcher) and other._shared is self._shared

    def parameter_names(self) -> set[str]:
        return {name for name, _ in self.model.named_parameters()}

    def add_patches(self, patches: Mapping[str, tuple], strength: float = 1.0, *, source: str = "") -> set[str]:
        """Add `{param_name: (kind, tensors)}` at `strength`; returns the names that exist in the model.

        Names the model lacks are skipped (the caller reports them). A patch whose shape cannot
        fit raises PatchError naming the parameter, before anything is added.
        """
        params = dict(self.model.named_parameters())
        applied: dict[str, WeightPatch] = {}
        for name, (kind, tensors) in patches.items():
            if name not in params:
                continue
            check_patch(name, kind, tuple(tensors), params[name].shape)
            applied[name] = WeightPatch(kind, tuple(tensors), float(strength), source)
        for name, patch in applied.items():
            self.patches.setdefault(name, []).append(patch)
            self._cache.pop(name, None)
        return set(applied)

    def fingerprint(self) -> str:
        """A stable text naming the base module and the patches (for cache keys and equality)."""
        digest = hashlib.sha256(f"base:{id(self._shared)}".encode())
        for name in sorted(self.patches):
            for patch in self.patches[name]:
                label = patch.source or ",".join(str(id(t)) for t in patch.tensors)
                digest.update(f"|{name}:{patch.kind}:{patch.strength!r}:{label}".encode())
        if self.compute_dtype is not None or self.compile_backend is not None:
            digest.update(f"|compute:{self.compute_dtype}:{self.compile_backend}:{self.compile_mode}".encode())
        return digest.hexdigest()

    def patched_weights(self) -> dict[str, torch.Tensor]:
        """The patched tensor for every patched parameter (cached; the base tensors are untouched)."""
        params = dict(self.model.named_parameters())
        out = {}
        for name, patch_list in self.patches.items():
            base = params[name]
            key = (id(base), base.data_ptr(), base.device, base.dtype)
            cached = self._cache.get(name)
            if cached is None or cached[0] != key:
                cached = (key, _apply_patches(base.detach(), patch_list))
                self._cache[name] = cached
            out[name] = cached[1]
        return out

    @contextlib.contextmanager
    def patched(self) -> Iterator[nn.Module]:
        """Yield the base module with this handle's patched weights swapped in, under the shared lock."""
        with self._shared.lock:
            weights = self.patched_weights() if self.patches else {}
            if self.compute_dtype is not None:
                weights = _cast_floating(self.model, weights, self.compute_dtype)
            originals = swap_parameters(self.model, weights)
            try:
                yield self.model
            finally:
                swap_parameters(self.model, originals)

    def __call__(self, *args, **kwargs):
        """Run the model's forward with the patched weights (streamed block by block when set so)."""
        with self.patched() as module, torch.inference_mode():
            streamer = self._shared.streamer
            if self.compile_backend is not None:
                module = self._compiled(self.compile_backend, self.compile_mode)
            if streamer is None:
                return module(*args, **kwargs)
            with streamer.active():
                return module(*args, **kwargs)

    def _compiled(self, backend: str, mode: str | None = None):
        """The shared base wrapped by torch.compile with `backend` and `mode` (made once per base, backend
        and mode)."""
        key = backend if mode is None else f"{backend}:{mode}"
        compiled = self._shared.compiled.get(key)
        if compiled is None:
            options = {} if mode is None else {"mode": mode}
            compiled = self._shared.compiled[key] = torch.compile(self.model, backend=backend, **options)
        return compiled

    def drop_patched_weights(self) -> None:
        """Forget every clone's patched tensors (LoRA and the like; remade at the next use): what evicting a
        model frees, since those copies are as large as the weights they patch."""
        with self._shared.lock:
            self._shared.drop_patched_caches()

    def set_streaming(self, streamer: Streamer | None) -> None:
        """Stream the shared base through `streamer` from now on (None: compute where the weights are)."""
        with self._shared.lock:
            self._shared.streamer = streamer
            self._shared.drop_patched_caches()

    def computing(self):
        """The context code that runs the base module directly (not through `__call__`) computes in: the
        streamer's, moving each block to the device as it runs, when the model streams; else nothing."""
        streamer = self._shared.streamer
        return streamer.active() if streamer is not None else contextlib.nullcontext()

    @property
    def streaming(self) -> bool:
        return self._shared.streamer is not None

    def move_to(self, device: torch.device | str) -> None:
        """Move the shared base module to `device` (under the lock, so no clone is mid-swap)."""
        with self._shared.lock:
            self.model.to(device)
            self._shared.drop_patched_caches()

    def move_to_files(self, directory: Path, fallback: torch.device | str = "cpu") -> int:
        """Move the shared base module off its device straight into files in `directory`, tensor by tensor
        (`file_backed.offload_module_to_files`: what cannot be file-backed goes to `fallback`); the bytes now
        in files. Under the lock, like `move_to`; on an error nothing has moved."""
        with self._shared.lock:
            moved = offload_module_to_files(self.model, directory, fallback)
            self._shared.drop_patched_caches()
            return moved

    def current_device(self) -> torch.device:
        """Where the model computes: its streaming device, else where the base weights are (CPU when none)."""
        if self._shared.streamer is not None:
            return self._shared.streamer.device
        first = next(self.model.parameters(), None)
        return first.device if first is not None else torch.device("cpu")

    def base_key(self) -> int:
        """An id shared by every clone of the same base (what the model manager tracks)."""
        return id(self._shared)

    def model_size_bytes(self) -> int:
        """Bytes of the base parameters and buffers, and of the packed CPU weight copies its layers make
        (diffusion/models/unet/prepacked.py; none on a GPU or with packing off)."""
        return module_size_bytes(self.model) + packable_bytes(self.model)


# Where a module keeps the one ModelPatcher the model manager tracks for it (nodes/api/model_services.py
# `managed_patcher`: ControlNets, upscale, CLIP vision, GLIGEN): a plain attribute, not a submodule.
MANAGED_PATCHER_ATTRIBUTE = "_managed_patcher"


def managed_patcher_of(module: nn.Module) -> ModelPatcher | None:
    """The ModelPatcher the model manager tracks for `module`, if it has one."""
    patcher = module.__dict__.get(MANAGED_PATCHER_ATTRIBUTE)
    return patcher if isinstance(patcher, ModelPatcher) else None


def module_size_bytes(module: nn.Module) -> int:
    """Bytes held by a module's parameters and buffers."""
    total = sum(p.numel() * p.element_size() for p in module.parameters())
    return total + sum(b.numel() * b.element_size() for b in module.buffers())


def check_patch(name: str, kind: str, tensors: tuple, shape: torch.Size) -> None:
    if kind == "lora":
        if len(tensors) != 4:
            raise PatchError(f"{name}: a lora patch needs (up, down, alpha, mid), got {len(tensors)} items")
        up, down = tensors[0], tensors[1]
        if up.shape[0] != shape[0]:
            raise PatchError(f"{name}: LoRA up has {up.shape[0]} outputs, the weight has {shape[0]}")
        if tensors[3] is None and up.flatten(1).shape[1] != down.shape[0]:
            raise PatchError(f"{name}: LoRA up/down ranks differ ({up.shape[1]} vs {down.shape[0]})")
        out_features = up.shape[0]
        in_elements = down.flatten(1).shape[1] if tensors[3] is None else None
        if in_elements is not None and out_features * in_elements != torch.Size(shape).numel():
            raise PatchError(
                f"{name}: LoRA of shape up {tuple(up.shape)} / down {tuple(down.shape)} does not fit weight {tuple(shape)}"
            )
    elif kind == "scale":
        if tensors:
            raise PatchError(f"{name}: a scale patch takes no tensors, got {len(tensors)}")
    elif kind == "diff":
        if len(tensors) != 1 or tuple(tensors[0].shape) != tuple(shape):
            raise PatchError(f"{name}: diff patch shape does not match weight {tuple(shape)}")
    else:
        raise PatchError(f"{name}: unknown patch kind {kind!r}")


def _cast_floating(model: nn.Module, weights: Mapping[str, torch.Tensor], dtype: torch.dtype) -> dict:
    """`weights` with every floating parameter of `model` (patched or not) cast to `dtype`."""
    out = {}
    for name, param in model.named_parameters():
        tensor = weights.get(name, param)
        out[name] = tensor.detach().to(dtype) if tensor.is_floating_point() else tensor
    return out


def _apply_patches(base: torch.Tensor, patch_list: list[WeightPatch]) -> torch.Tensor:
    weight = base.float().clone()
    for patch in patch_list:
        if patch.kind == "scale":
            weight.mul_(patch.strength)
            continue
        if patch.strength == 0.0:
            continue
        if patch.kind == "lora":
            up, down, alpha, mid = patch.tensors
            delta = lora_delta(up.to(weight.device), down.to(weight.device), alpha, None if mid is None else mid.to(weight.device), weight.shape)
        else:
            delta = patch.tensors[0].to(weight.device).float()
        weight.add_(delta, alpha=patch.strength)
    return weight.to(base.dtype)


def swap_parameters(model: nn.Module, weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Point the named parameters at `weights` (wrapping tensors as Parameters); return what was there."""
    previous = {}
    for name, tensor in weights.items():
        owner_name, _, attr = name.rpartition(".")
        owner = model.get_submodule(owner_name) if owner_name else model
        previous[name] = owner._parameters[attr]
        if not isinstance(tensor, nn.Parameter):
            tensor = nn.Parameter(tensor, requires_grad=False)
        owner._parameters[attr] = tensor
    return previous
