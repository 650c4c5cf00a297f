"""Keeps loaded models on the compute device within a memory budget, least recently used out first, the
models the next queued prompts need last.

Models are tracked by their shared base (every clone of a `ModelPatcher` counts once).
`load_models(patchers)` is called right before a model computes (ComfyUI's
`load_models_gpu`): models already on the device are only marked as recently used; others
are moved there, after evicting the least recently used models (back to their offload
device) until the new ones fit in the budget. Models needed by the same call are never
evicted for each other. A model larger than the whole budget is still loaded, alone.
`unload_all()` (the /free route) sends every model back to its offload device.

When the compute device is the offload device (a CPU-only run) nothing ever moves; the
manager still records what is in use.

What goes where is decided by `planner.plan_load` under a `MemoryPolicy` (--highvram,
--lowvram, --novram, --vram-budget, --reserve-vram): a model that cannot fit whole beside the
step's activations (`work_bytes`, estimated by the caller) is streamed block by block
(`streaming.Streamer`) instead of failing; `last_plan` keeps the latest decision and
`resident()` describes what is on the device (for /system_stats).

Host memory is the next tier. With `file_dir` (the server gives temp/weights), models evicted from the
device — to the CPU on a GPU run, or on a CPU run, where nothing moves — are remembered least recently
used first, and when host memory (`host_budget_bytes`, default: the usable part of system RAM) would not
hold them beside what computes from it, or the system's available RAM falls under a reserve (5 %), the
oldest move to files on disk (`planner.plan_host`,
`file_backed.move_module_to_files`): they still run when asked for again, their weights read back from
the page cache or the disk, but take no memory meanwhile. `unload_all()` on a CPU run sends every model
there (/free frees the RAM, the models stay usable). Only weak references are kept of evicted models: a
model the caches let go of is dropped, files and all. On a GPU run the decision comes first: a model leaving the
device that host memory would not hold goes from the device straight into files, tensor by tensor
(`ModelPatcher.move_to_files`), so RAM never holds the whole of it; should the files fail, it goes to the CPU whole.

Queue-aware: `set_needed_soon(sources)` names the files the next queued prompts load (the server's worker
calls it before each prompt, through `NodeRuntime.models_needed_soon`). A model whose `ModelPatcher.source` is
one of them is evicted from the device, or moved from host memory to disk, only after every model that is not
(`planner.plan_load` / `plan_host`, `needed_soon`): a queue alternating two checkpoints keeps the one the next
prompt uses instead of the one used last.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from diffusion.memory.devices import empty_cache, free_memory, total_memory
from diffusion.memory.file_backed import (
    disk_directory,
    file_backed_module_bytes,
    forget_unused_files,
    host_memory_bytes,
    move_module_to_files,
)
from diffusion.memory.patcher import ModelPatcher, module_size_bytes
from diffusion.memory.planner import Footprint, LoadPlan, MemoryPolicy, plan_host, plan_load, soonest_needed_last
from diffusion.memory.streaming import Streamer, largest_unit_bytes
from diffusion.models.unet.prepacked import release_packed_weights

log = logging.getLogger(__name__)

Mover = Callable[[ModelPatcher, torch.device], None]


def _move(patcher: ModelPatcher, device: torch.device) -> None:
    patcher.move_to(device)


def _block_bytes(patcher: ModelPatcher) -> int:
    """The largest block the planner may stream the model by; 0 (load it whole) when it is not streamable."""
    return largest_unit_bytes(patcher.model) if patcher.streamable else 0


@dataclass
class _Entry:
    patcher: ModelPatcher
    size: int
    block: int = 0


@dataclass
class _Evicted:
    """A model evicted from the device whose weights are in host memory or in files (a weak reference)."""

    model: weakref.ref
    name: str
    source: str | None = None


class ModelManager:
    """Loads models onto `device` within `budget_bytes` (default: 90% of the device's memory)."""

    def __init__(
        self,
        device: torch.device | str,
        *,
        offload_device: torch.device | str = "cpu",
        budget_bytes: int | None = None,
        policy: MemoryPolicy | None = None,
        mover: Mover = _move,
        block_mover: Callable[[torch.nn.Module, torch.device], None] | None = None,
        file_dir: str | Path | None = None,
        host_budget_bytes: int | None = None,
        host_free_bytes: Callable[[], int] | None = None,
    ):
        """`mover` moves a whole model, `block_mover` one streamed block (both replaceable in tests);
        `file_dir` and `host_budget_bytes`: the disk tier (see the module docstring)."""
        self.device = torch.device(device)
        self.offload_device = torch.device(offload_device)
        self.policy = policy or MemoryPolicy()
        if budget_bytes is None:
            budget_bytes = self.policy.usable_bytes(total_memory(self.device), gpu=self.device.type == "cuda")
        if budget_bytes <= 0:
            raise ValueError(f"model memory budget must be positive, got {budget_bytes}")
        self.budget_bytes = int(budget_bytes)
        self._mover = mover
        self._block_mover = block_mover
        self._loaded: OrderedDict[int, _Entry] = OrderedDict()  # least recently used first
        self._streamed: dict[int, ModelPatcher] = {}
        self._lock = threading.RLock()
        self.last_plan: LoadPlan | None = None
        self.file_dir = disk_directory(file_dir) if file_dir is not None else None
        if host_budget_bytes is None:
            host_budget_bytes = self.policy.usable_bytes(total_memory(torch.device("cpu")), gpu=False) \
                if self.moves_models else self.budget_bytes
        self.host_budget_bytes = int(host_budget_bytes)
        # The live check beside the budget: other programs, and this process's other data, use RAM too.
        host_total = total_memory(torch.device("cpu"))
        self.host_reserve_bytes = max(int(host_total * 0.05), min(512 * 2**20, host_total // 8))
        self.host_free_bytes = host_free_bytes or (lambda: free_memory(torch.device("cpu")))
        self._evicted: OrderedDict[int, _Evicted] = OrderedDict()  # least recently evicted first
        self._needed_soon: frozenset[str] = frozenset()  # sources the next queued prompts load

    def set_needed_soon(self, sources: Iterable[str]) -> None:
        """The files (`ModelPatcher.source` strings) the next queued prompts load: models loaded from them are
        evicted, and moved to disk, after all others. Replaces the previous set; empty: plain LRU."""
        with self._lock:
            self._needed_soon = frozenset(str(s) for s in sources)

    def needed_soon(self) -> list[ModelPatcher]:
        """The models on the device whose source the next queued prompts load, least recently used first."""
        with self._lock:
            return [e.patcher for e in self._loaded.values() if self._is_needed_soon(e.patcher.source)]

    def _is_needed_soon(self, source: str | None) -> bool:
        return source is not None and source in self._needed_soon

    def _needed_soon_keys(self) -> set[str]:
        return {str(k) for k, e in self._loaded.items() if self._is_needed_soon(e.patcher.source)}

    @property
    def moves_models(self) -> bool:
        return self.device != self.offload_device

    def memory_in_use(self) -> int:
        """Bytes of the models currently on the device."""
        return sum(entry.size for entry in self._loaded.values())

    def loaded(self) -> list[ModelPatcher]:
        """Models on the device, least recently used first."""
        return [entry.patcher for entry in self._loaded.values()]

    def is_loaded(self, patcher: ModelPatcher) -> bool:
        return patcher.base_key() in self._loaded

    def load_models(self, patchers: Iterable[ModelPatcher], *, work_bytes: int = 0) -> LoadPlan:
        """Make sure these models can compute on the device, `work_bytes` of activations beside them:
        evict least recently used ones, load whole what fits, stream the rest (see the planner)."""
        with self._lock:
            wanted: OrderedDict[int, ModelPatcher] = OrderedDict()
            for patcher in patchers:
                wanted.setdefault(patcher.base_key(), patcher)
            resident = [Footprint(str(k), e.size, e.block) for k, e in self._loaded.items()]
            footprints = [self._footprint(p) for p in wanted.values()]
            if not self.moves_models:
                footprints = [Footprint(f.name, f.weight_bytes) for f in footprints]  # nothing to stream from
            plan = plan_load(self.policy, self.budget_bytes, resident, footprints, work_bytes,
                             needed_soon=self._needed_soon_keys())
            for key in wanted:  # about to compute: not held in host memory, never sent to disk now
                self._evicted.pop(key, None)
            for name in plan.evict:
                self._evict(int(name))
            for name in plan.stream:
                self._start_streaming(wanted[int(name)])
            for name in plan.load:
                key = int(name)
                patcher = wanted[key]
                self._stop_streaming(key)
                if self.moves_models:
                    self._mover(patcher, self.device)
                    forget_unused_files(patcher.model)  # copied to the device: its files are not needed
                self._loaded[key] = _Entry(patcher, patcher.model_size_bytes(), _block_bytes(patcher))
            for key in wanted:
                if key in self._loaded:
                    self._loaded.move_to_end(key)
            self._trim_host(work_bytes)
            if not plan.fits:
                log.warning("models and computation need more than the %.1f MB budget (%s); running anyway",
                            self.budget_bytes / 2**20, "; ".join(plan.notes))
            elif plan.stream:
                log.info("%s", "; ".join(plan.notes))
            self.last_plan = plan
            return plan

    def _footprint(self, patcher: ModelPatcher) -> Footprint:
        entry = self._loaded.get(patcher.base_key())
        if entry is not None:
            return Footprint(str(patcher.base_key()), entry.size, entry.block)
        return Footprint(str(patcher.base_key()), patcher.model_size_bytes(), _block_bytes(patcher))

    def _start_streaming(self, patcher: ModelPatcher) -> None:
        key = patcher.base_key()
        if key in self._streamed:
            return
        if self.moves_models:
            self._mover(patcher, patcher.offload_device or self.offload_device)
        self._evicted.pop(key, None)  # streams from host memory: counted as computing, not as evicted
        extra = {"mover": self._block_mover} if self._block_mover is not None else {}
        patcher.set_streaming(Streamer(patcher.model, self.device, patcher.offload_device or self.offload_device,
                                       **extra))
        self._streamed[key] = patcher

    def _stop_streaming(self, key: int) -> None:
        patcher = self._streamed.pop(key, None)
        if patcher is not None:
            patcher.set_streaming(None)

    def streamed(self) -> list[ModelPatcher]:
        """Models whose weights stay offloaded and stream block by block."""
        return list(self._streamed.values())

    def resident(self) -> list[dict]:
        """What is on the device, least recently used first, then what streams (for /system_stats)."""
        def describe(patcher: ModelPatcher, size: int, where: str) -> dict:
            info = patcher.model_info
            return {"model": type(patcher.model).__name__, "family": getattr(info, "family", None),
                    "bytes": size, "placement": where}
        with self._lock:
            rows = [describe(e.patcher, e.size, "device") for e in self._loaded.values()]
            rows += [describe(p, p.model_size_bytes(), "streamed") for p in self._streamed.values()]
            for evicted in self._evicted.values():
                model = evicted.model()
                on_disk = 0 if model is None else file_backed_module_bytes(model)
                if on_disk:
                    rows.append({"model": type(model).__name__, "family": None, "bytes": on_disk, "placement": "disk"})
            return rows

    def on_disk(self) -> list[torch.nn.Module]:
        """Evicted models (still alive) whose weights are, at least partly, in files on disk."""
        with self._lock:
            models = [e.model() for e in self._evicted.values()]
            return [m for m in models if m is not None and file_backed_module_bytes(m) > 0]

    def _trim_host(self, work_bytes: int = 0) -> None:
        """Move the least recently evicted models to files while host memory would not hold them all (on a
        CPU run beside `work_bytes` of the step's activations too)."""
        if self.file_dir is not None:
            self._make_host_room(None, work_bytes=work_bytes)

    def _make_host_room(self, incoming: _Evicted | None, incoming_bytes: int = 0, *, work_bytes: int = 0) -> bool:
        """Move held models to files (`plan_host`, then the live RAM reserve) so that host memory holds what
        stays, with `incoming` (a model about to leave the device, `incoming_bytes` of it bound for the CPU,
        the newest) counted too; True when `incoming` itself would not fit: it should go straight to disk."""
        for patcher in self._streamed.values():
            forget_unused_files(patcher.model)  # streamed blocks come back as new tensors: their files are not used
        for key, evicted in list(self._evicted.items()):
            if evicted.model() is None:
                del self._evicted[key]  # let go of by the caches: dropped, files and all
        # what computes from host memory: a CPU run's loaded models (whole: running from files reads their
        # pages back in), and streamed models' offloaded weights
        in_use = sum(host_memory_bytes(p.model) for p in self._streamed.values())
        if not self.moves_models:
            in_use += sum(entry.size for entry in self._loaded.values()) + work_bytes
        held, needed = [], set()
        for key, evicted in self._evicted.items():
            model = evicted.model()
            if model is not None:
                held.append(Footprint(str(key), host_memory_bytes(model)))
                if self._is_needed_soon(evicted.source):
                    needed.add(str(key))
        arriving = None
        if incoming is not None:
            arriving = Footprint("incoming", incoming_bytes)
            held.append(arriving)
            if self._is_needed_soon(incoming.source):
                needed.add(arriving.name)
        moved = set(plan_host(self.host_budget_bytes, held, in_use, needed_soon=needed))
        for name in moved - {"incoming"}:
            self._to_disk(int(name))  # held ones first: host memory has room before the incoming model arrives
        if arriving is not None and arriving.name in moved:
            return True
        # Then by what the system has left: while available RAM (less what is arriving) is under the reserve,
        # the next in line (not needed soon first, least recently used first) goes too.
        for footprint in soonest_needed_last([f for f in held if f.name not in moved and f.weight_bytes], needed):
            if self.host_free_bytes() - incoming_bytes >= self.host_reserve_bytes:
                break
            if footprint is arriving:
                return True
            self._to_disk(int(footprint.name))
            empty_cache(torch.device("cpu"))  # the moved weights' heap pages back to the system
        return False

    def _to_disk(self, key: int) -> None:
        evicted = self._evicted.get(key)
        model = evicted.model() if evicted is not None else None
        if model is None:
            return
        moved = move_module_to_files(model, self.file_dir)
        if moved:
            log.info("host memory is short: %s (%.0f MB) now lives in files under %s until it is used again",
                     evicted.name, moved / 2**20, self.file_dir)

    def free_memory(self, bytes_needed: int, *, keep: Iterable[ModelPatcher] = ()) -> None:
        """Evict least recently used models (those needed soon last) until `bytes_needed` more fit."""
        with self._lock:
            self._make_room(bytes_needed, keep={p.base_key() for p in keep})

    def _make_room(self, bytes_needed: int, keep: set[int]) -> None:
        needed = self._needed_soon_keys()
        order = [k for k in self._loaded if str(k) not in needed] + [k for k in self._loaded if str(k) in needed]
        for key in order:
            if self.memory_in_use() + bytes_needed <= self.budget_bytes:
                break
            if key not in keep:
                self._evict(key)
        if self.memory_in_use() + bytes_needed > self.budget_bytes:
            log.warning(
                "models need %.1f MB more than the %.1f MB budget; loading anyway",
                (self.memory_in_use() + bytes_needed - self.budget_bytes) / 2**20,
                self.budget_bytes / 2**20,
            )

    def _evict(self, key: int) -> None:
        """Send a loaded model to its offload device (or, host memory short, to files)."""
        entry = self._loaded.pop(key)
        release_packed_weights(entry.patcher.model)  # CPU copies packed for oneDNN; remade on the next run
        entry.patcher.drop_patched_weights()  # LoRA-patched copies (a move drops them too; a CPU run moves nothing)
        evicted = _Evicted(weakref.ref(entry.patcher.model), type(entry.patcher.model).__name__, entry.patcher.source)
        if self.moves_models:
            offload = entry.patcher.offload_device or self.offload_device
            if not self._straight_to_disk(entry.patcher, offload, evicted):
                self._mover(entry.patcher, offload)
        empty_cache(self.device)  # on a CPU too: the dropped packed copies' heap pages go back to the system
        if self.file_dir is not None:
            self._evicted.pop(key, None)
            self._evicted[key] = evicted

    def _straight_to_disk(self, patcher: ModelPatcher, offload: torch.device, evicted: _Evicted) -> bool:
        """When host memory would not hold the model leaving the device, move it from the device straight into
        files, tensor by tensor (never all of it in RAM at once); True when it is off the device. False: the
        caller moves it whole, as without a disk tier: no file_dir, an offload device that is not the CPU,
        room in RAM, or the files failed (`move_to_files` then put every tensor back where it was)."""
        if self.file_dir is None or offload.type != "cpu":
            return False
        arriving = module_size_bytes(patcher.model) - file_backed_module_bytes(patcher.model)
        if not self._make_host_room(evicted, arriving):
            return False
        try:
            moved = patcher.move_to_files(self.file_dir, offload)
        except (OSError, RuntimeError, MemoryError) as error:
            log.warning("could not move %s from the device to files under %s (%s); moving it to the CPU",
                        evicted.name, self.file_dir, error)
            return False
        if moved:
            log.info("host memory is short: %s (%.0f MB) went from the device straight to files under %s",
                     evicted.name, moved / 2**20, self.file_dir)
        return True  # off the device either way: what no file took went to the CPU tensor by tensor

    def unload(self, patcher: ModelPatcher) -> None:
        """Send one model (all its clones) back to its offload device."""
        with self._lock:
            if patcher.base_key() in self._loaded:
                self._evict(patcher.base_key())

    def unload_all(self) -> None:
        """Send every model back to its offload device and stop streaming (the /free route); on a CPU run,
        with a `file_dir`, every model moves to files (the RAM is freed, the models stay usable)."""
        with self._lock:
            for key in list(self._loaded):
                self._evict(key)
            for key in list(self._streamed):
                self._stop_streaming(key)
            if self.moves_models:
                self._trim_host()
            else:
                for key in list(self._evicted):
                    self._to_disk(key)
            empty_cache(self.offload_device)  # the freed copies' heap pages back to the system
