"""Keeps loaded models on the compute device within a memory budget, least recently used out first.

Models are tracked by their shared base (every clone of a `ModelPatcher` counts once).
`load_models(patchers)` is called right before a model computes (ComfyUI's
`load_models_gpu`): models already on the device are only marked as recently used; others
are moved there, after evicting the least recently used models (back to their offload
device) until the new ones fit in the budget. Models needed by the same call are never
evicted for each other. A model larger than the whole budget is still loaded, alone.
`unload_all()` (the /free route) sends every model back to its offload device.

When the compute device is the offload device (a CPU-only run) nothing ever moves; the
manager still records what is in use.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from diffusion.memory.devices import empty_cache, total_memory
from diffusion.memory.patcher import ModelPatcher

log = logging.getLogger(__name__)

Mover = Callable[[ModelPatcher, torch.device], None]


def _move(patcher: ModelPatcher, device: torch.device) -> None:
    patcher.move_to(device)


@dataclass
class _Entry:
    patcher: ModelPatcher
    size: int


class ModelManager:
    """Loads models onto `device` within `budget_bytes` (default: 90% of the device's memory)."""

    def __init__(
        self,
        device: torch.device | str,
        *,
        offload_device: torch.device | str = "cpu",
        budget_bytes: int | None = None,
        mover: Mover = _move,
    ):
        self.device = torch.device(device)
        self.offload_device = torch.device(offload_device)
        if budget_bytes is None:
            budget_bytes = int(total_memory(self.device) * 0.9)
        if budget_bytes <= 0:
            raise ValueError(f"model memory budget must be positive, got {budget_bytes}")
        self.budget_bytes = int(budget_bytes)
        self._mover = mover
        self._loaded: OrderedDict[int, _Entry] = OrderedDict()  # least recently used first
        self._lock = threading.RLock()

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

    def load_models(self, patchers: Iterable[ModelPatcher]) -> None:
        """Make sure these models are on the device, evicting least recently used ones as needed."""
        with self._lock:
            wanted: OrderedDict[int, ModelPatcher] = OrderedDict()
            for patcher in patchers:
                wanted.setdefault(patcher.base_key(), patcher)
            missing = [(k, p) for k, p in wanted.items() if k not in self._loaded]
            needed = sum(p.model_size_bytes() for _, p in missing)
            self._make_room(needed, keep=set(wanted))
            for key, patcher in missing:
                if self.moves_models:
                    self._mover(patcher, self.device)
                self._loaded[key] = _Entry(patcher, patcher.model_size_bytes())
            for key in wanted:
                self._loaded.move_to_end(key)

    def free_memory(self, bytes_needed: int, *, keep: Iterable[ModelPatcher] = ()) -> None:
        """Evict least recently used models until `bytes_needed` more fit in the budget."""
        with self._lock:
            self._make_room(bytes_needed, keep={p.base_key() for p in keep})

    def _make_room(self, bytes_needed: int, keep: set[int]) -> None:
        for key in list(self._loaded):
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
        entry = self._loaded.pop(key)
        if self.moves_models:
            self._mover(entry.patcher, entry.patcher.offload_device or self.offload_device)
            empty_cache(self.device)

    def unload(self, patcher: ModelPatcher) -> None:
        """Send one model (all its clones) back to its offload device."""
        with self._lock:
            if patcher.base_key() in self._loaded:
                self._evict(patcher.base_key())

    def unload_all(self) -> None:
        """Send every model back to its offload device (the /free route)."""
        with self._lock:
            for key in list(self._loaded):
                self._evict(key)
