"""ComfyUI's top-level module names for custom node packs: `import comfy.utils` is nodes/compat/comfy/utils.py.

`install()` (called before packs load, idempotent) puts a finder in front of `sys.meta_path` that
answers the names in TOP_LEVEL with the modules under `nodes.compat`; the module object is the same
under both names, so state a pack sets through one is seen through the other. `folder_paths` is
bound by nodes/compat/folder_paths.py; ComfyUI's `server` and `nodes` modules are latentgraph's own
packages of those names, which export the pack-facing symbols (server.PromptServer, nodes.MAX_RESOLUTION).

A ComfyUI module latentgraph does not provide (`comfy.ldm.modules.attention`, ...) fails at the import
with a ModuleNotFoundError that names it and lists what the nearest provided package has, never a
half-working module.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import pkgutil
import sys

# ComfyUI's top-level name -> the package of nodes/compat that answers it.
TOP_LEVEL = {
    "comfy": "nodes.compat.comfy",
    "comfy_extras": "nodes.compat.comfy_extras",
    "comfy_execution": "nodes.compat.comfy_execution",
    "comfy_api": "nodes.compat.comfy_api",
    "latent_preview": "nodes.compat.latent_preview",
    "node_helpers": "nodes.compat.node_helpers",
}
COMPAT_PREFIX = "nodes.compat."


def target_of(fullname: str) -> str | None:
    """The nodes.compat module name answering ComfyUI's `fullname`, or None when it is not an alias."""
    top, _, rest = fullname.partition(".")
    base = TOP_LEVEL.get(top)
    if base is None:
        return None
    return base + ("." + rest if rest else "")


def provided(package: str) -> list[str]:
    """ComfyUI names of the modules provided directly under `package` (a ComfyUI name, e.g. "comfy")."""
    target = target_of(package)
    spec = importlib.util.find_spec(target) if target else None
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(f"{package}.{info.name}" for info in pkgutil.iter_modules(spec.submodule_search_locations))


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:  # the target module ran when it was imported
        return None


class ComfyModuleFinder(importlib.abc.MetaPathFinder):
    """Finds ComfyUI's module names among nodes/compat's modules."""

    def find_spec(self, fullname, path=None, target=None):
        compat = target_of(fullname)
        if compat is None:
            return None
        if _missing(compat):
            parent = fullname.rpartition(".")[0] or fullname
            while parent and _missing(target_of(parent)):
                parent = parent.rpartition(".")[0]
            offered = provided(parent) if parent else [name for name in sorted(TOP_LEVEL) if not _missing(TOP_LEVEL[name])]
            where = f"under {parent}: " if parent else "top-level: "
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: latentgraph provides custom node packs with part of ComfyUI's "
                f"modules, and {fullname} is not one of them"
                + (f" ({where}{', '.join(offered)})" if offered else ""), name=fullname)
        is_package = importlib.util.find_spec(compat).submodule_search_locations is not None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(compat), is_package=is_package)


def _missing(compat: str | None) -> bool:
    if compat is None:
        return True
    try:
        return importlib.util.find_spec(compat) is None
    except ModuleNotFoundError:
        return True


_FINDER = ComfyModuleFinder()


def install() -> None:
    """Make ComfyUI's module names importable (first on sys.meta_path; once per process)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Remove the finder and the aliases it created (tests)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if target_of(n) is not None]:
        del sys.modules[name]
