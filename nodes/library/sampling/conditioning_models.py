"""The models a conditioning carries that compute while the UNet samples: applied ControlNets, T2I-Adapters
and ControlLoRAs (every control of each entry's `previous` chain) and GLIGEN position nets.

`conditioning_patchers` gives their ModelPatchers (one per module, `model_services.managed_patcher`), so the
sampler nodes load them in the same model-manager call as the UNet (`load_for_sampling`): the planner counts
them together and never evicts one for the other, and afterwards they are counted, evicted and offloaded like
any other model instead of sitting on the device outside the budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nodes.api.lazy import lazy_import

nn = lazy_import("torch.nn")
control = lazy_import("diffusion.sampling.control")
model_services = lazy_import("nodes.api.model_services")


def _options(entry: Any) -> dict:
    if isinstance(entry, (list, tuple)) and len(entry) > 1 and isinstance(entry[1], dict):
        return entry[1]
    return {}


def _control_modules(applied: Any, model: Any) -> Iterable[tuple[Any, str | None]]:
    """(network, its file or None) for each control of an applied chain; a ControlLoRA's network is built from
    `model` here (as it would be at the first step)."""
    seen: set[int] = set()
    while isinstance(applied, control.AppliedControl) and id(applied) not in seen:
        seen.add(id(applied))
        control_model = applied.model
        network = control_model.network_for(model)
        if isinstance(network, nn.Module):
            built = control_model.build_from_model is not None  # made from the sampled model: no file of its own
            yield network, None if built or not control_model.name else control_model.name
        applied = applied.previous


def _gligen_module(spec: Any) -> Any:
    if isinstance(spec, (list, tuple)) and len(spec) == 3:
        module = getattr(spec[1], "model", spec[1])
        if isinstance(module, nn.Module):
            return module
    return None


def conditioning_patchers(services: Any, model: Any, conditionings: Iterable[Any]) -> list:
    """The ModelPatchers (computing on `services.choice.device`) of the ControlNets and GLIGEN models that the
    entries of `conditionings` carry, each module once."""
    found: dict[int, Any] = {}
    for conditioning in conditionings:
        if not isinstance(conditioning, (list, tuple)):
            continue
        for entry in conditioning:
            options = _options(entry)
            for network, source in _control_modules(options.get("control"), model):
                if id(network) not in found:
                    path = model_services.file_source(source) if source else None
                    found[id(network)] = model_services.managed_patcher(network, services.choice, source=path,
                                                                          streamable=True)
            gligen = _gligen_module(options.get("gligen"))
            if gligen is not None and id(gligen) not in found:
                found[id(gligen)] = model_services.managed_patcher(gligen, services.choice)
    return list(found.values())
