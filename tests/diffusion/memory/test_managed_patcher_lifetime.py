"""The one ModelPatcher a managed module (ControlNet, upscale, CLIP vision, GLIGEN) keeps on itself
(nodes/api/model_services.py `managed_patcher`): it lives exactly as long as the module. The module and its
patcher reference each other (the patcher moves the module; the module keeps its patcher for every handle
sharing it), a cycle the garbage collector frees once nothing else holds either."""

from __future__ import annotations

import gc
import weakref

from torch import nn

from diffusion.memory.devices import choose_devices
from diffusion.memory.model_manager import ModelManager
from diffusion.memory.patcher import managed_patcher_of
from nodes.api.model_services import managed_patcher

CHOICE = choose_devices(cpu=True)


def test_a_held_module_keeps_one_patcher_across_evictions_and_collections():
    module = nn.Linear(8, 8)
    patcher = managed_patcher(module, CHOICE, source="/models/controlnet/a.safetensors")
    key = patcher.base_key()
    manager = ModelManager("cpu", budget_bytes=1 << 20)
    manager.load_models([patcher])
    manager.unload(patcher)
    del patcher  # only the module (a node output) holds it now
    gc.collect()
    again = managed_patcher(module, CHOICE)
    assert again is managed_patcher_of(module) and again.base_key() == key  # the same base: counted once
    assert again.source == "/models/controlnet/a.safetensors"


def test_a_dropped_module_and_its_patcher_are_freed_together():
    gc.collect()
    module = nn.Linear(8, 8)
    patcher = managed_patcher(module, CHOICE)
    dead_module, dead_patcher = weakref.ref(module), weakref.ref(patcher)
    del module, patcher
    assert dead_module() is not None  # the cycle holds both until the collector runs ...
    gc.collect()
    assert dead_module() is None and dead_patcher() is None  # ... which frees both: nothing leaks


def test_the_patcher_is_not_part_of_the_module_state():
    module = nn.Linear(8, 8)
    managed_patcher(module, CHOICE)
    assert set(module.state_dict()) == {"weight", "bias"} and list(module.children()) == []
