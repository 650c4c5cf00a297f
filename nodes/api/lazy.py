"""Modules imported when first used: `torch = lazy_import("torch")` at the top of a node module.

Building the registry, listing /object_info and validating a prompt import every node
module but run none of them. A node module that names torch and the diffusion engine
through `lazy_import` pays for them only when one of its nodes runs: the proxy imports
its module on the first attribute access, then forwards every attribute to it.

What a class body evaluates (combo options, defaults, decorators) must not go through a
proxy, or the import happens at class definition after all: take such names from
torch-free modules (e.g. `diffusion.sampling.names`). Names used only in annotations
need nothing (`from __future__ import annotations` keeps them as strings), or an import
under `if TYPE_CHECKING:`. Keep the call form `lazy_import("dotted.name")` with a string
literal: tests/test_import_layers.py reads it as an import.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name` until an attribute is asked for; then imports it once and forwards to it."""

    __slots__ = ("_lazy_name", "_lazy_module", "_lazy_lock")

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_lazy_name", name)
        object.__setattr__(self, "_lazy_module", None)
        object.__setattr__(self, "_lazy_lock", threading.RLock())

    def _load(self) -> ModuleType:
        """The module, imported on the first call (one thread imports; the others wait for it)."""
        module = self._lazy_module
        if module is None:
            with self._lazy_lock:
                module = self._lazy_module
                if module is None:
                    module = importlib.import_module(self._lazy_name)
                    object.__setattr__(self, "_lazy_module", module)
        return module

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._load(), attribute)

    def __setattr__(self, attribute: str, value: Any) -> None:
        setattr(self._load(), attribute, value)

    def __delattr__(self, attribute: str) -> None:
        delattr(self._load(), attribute)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def __repr__(self) -> str:
        state = "not imported yet" if self._lazy_module is None else "imported"
        return f"<lazy module {self._lazy_name!r} ({state})>"


def lazy_import(name: str) -> Any:
    """A stand-in for the module `name` that imports it on first use.

    Nothing is looked up now: a module that does not exist raises ModuleNotFoundError (naming
    it) at the first attribute access. Typed Any so that `torch.Tensor` and the like read as
    they do on the module itself.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"lazy_import needs a dotted module name, got {name!r}")
    return LazyModule(name)
