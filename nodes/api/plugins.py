"""Loads custom node packs from `custom_nodes/` directories, as ComfyUI does.

A pack is a `.py` file or a package (a directory with `__init__.py`) exporting
`NODE_CLASS_MAPPINGS` ({node id: class}, classic or V3 classes), optionally `NODE_DISPLAY_NAME_MAPPINGS`,
and/or ComfyUI's V3 entry point `async def comfy_entrypoint() -> ComfyExtension`: it is awaited, the
extension's `on_load()` runs, and the classes its `get_node_list()` returns are registered under their
schemas' node ids (a pack with both registers both; ComfyUI itself would ignore the entry point then).
An entry point that raises or returns something else fails the pack like an import error. Optionally
`WEB_DIRECTORY` (relative to the pack's directory; the server serves it at
`/extensions/<pack name>/`). Names ending `.disabled`, `__pycache__` and hidden entries
are skipped. A pack that fails to import is reported by name with its error and skipped;
the others load. A node id that is already registered is refused (built-ins win).
Packs can `import folder_paths` (ComfyUI's module, `nodes/compat/folder_paths.py`), bound to the
runtime's folders before the first pack is imported, and ComfyUI's other module names (`comfy.*`,
`comfy_api`, `node_helpers`, ...) through nodes/compat/aliases.py, installed at the same moment.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodes.api.registry import DuplicateNodeError, NodeRegistry
from nodes.api.results import run_to_completion
from nodes.compat import aliases as compat_aliases
from nodes.compat import folder_paths as compat_folder_paths
from nodes.compat.comfy import cli_args as compat_cli_args

log = logging.getLogger("latentgraph.plugins")

MODULE_PREFIX = "latentgraph_custom_nodes."


@dataclass
class LoadedPack:
    name: str
    path: Path
    node_ids: list[str] = field(default_factory=list)
    web_dir: Path | None = None
    # Node ids of this pack that were not registered, with the reason.
    refused: list[str] = field(default_factory=list)


@dataclass
class FailedPack:
    name: str
    path: Path
    error: str
    traceback: str = ""


@dataclass
class PluginReport:
    loaded: list[LoadedPack] = field(default_factory=list)
    failed: list[FailedPack] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        """One line per problem: failed packs and refused nodes."""
        lines = [f"custom node pack {f.name!r} ({f.path}) failed to load: {f.error}" for f in self.failed]
        for pack in self.loaded:
            lines.extend(f"custom node pack {pack.name!r}: {reason}" for reason in pack.refused)
        return lines

    def pack(self, name: str) -> LoadedPack | None:
        return next((p for p in self.loaded if p.name == name), None)


class PackError(Exception):
    """A pack imported but does not follow the contract (no mapping, wrong types)."""


def discover_packs(directory: Path) -> list[tuple[str, Path]]:
    """(pack name, path of the .py file or package directory) in sorted order."""
    if not directory.is_dir():
        return []
    found = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".") or name == "__pycache__" or name.endswith(".disabled"):
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file():
            found.append((name, entry))
        elif entry.is_file() and entry.suffix == ".py" and name != "__init__.py":
            found.append((entry.stem, entry))
    return found


def load_custom_nodes(registry: NodeRegistry, directories: list[Path], runtime: Any = None) -> PluginReport:
    """Imports every pack found in `directories` and registers its nodes in `registry`."""
    report = PluginReport()
    folders = getattr(runtime, "folders", None)
    if folders is not None:
        compat_folder_paths.bind(folders)
    compat_aliases.install()
    if runtime is not None:  # comfy.cli_args.args (and model_management) as packs read them at import
        compat_cli_args.bind(runtime)
    for directory in directories:
        for name, path in discover_packs(Path(directory)):
            if report.pack(name) is not None or any(f.name == name for f in report.failed):
                report.failed.append(FailedPack(name, path, f"a pack named {name!r} was already loaded from "
                                                            "another custom_nodes directory"))
                continue
            _load_pack(registry, report, name, path, runtime)
    if any(pack.node_ids for pack in report.loaded):
        # ComfyUI's ModelPatcher methods on our MODEL handles, for packs that call them without importing any
        # comfy.* module; only once a pack registered nodes, as it imports torch (which such packs do anyway).
        from nodes.compat.patcher_methods import install as install_patcher_methods

        install_patcher_methods()
    for line in report.messages:
        log.warning(line)
    return report


def _load_pack(registry: NodeRegistry, report: PluginReport, name: str, path: Path, runtime: Any) -> None:
    try:
        module = import_pack(name, path)
        mappings, display_names, web_dir = read_contract(module, path)
        entry_classes = entrypoint_node_classes(module)
    except (Exception, SystemExit) as exc:  # any import failure is the pack's problem, not ours
        error = f"{type(exc).__name__}: {exc}" + missing_symbol_hint(exc)
        report.failed.append(FailedPack(name, path, error, traceback.format_exc()))
        return
    pack = LoadedPack(name, path, web_dir=web_dir)
    registered: dict[str, Any] = {}
    entries = [(node_id, node_class, display_names.get(node_id)) for node_id, node_class in mappings.items()]
    entries += [(None, node_class, None) for node_class in entry_classes]
    for node_id, node_class, display_name in entries:
        if node_id is None and any(node_class is known for known in registered.values()):
            continue  # listed by NODE_CLASS_MAPPINGS and by the entry point: registered once
        label = node_id or getattr(node_class, "__name__", repr(node_class))
        try:
            class_type = registry.register_class(node_class, runtime, class_type=node_id, display_name=display_name,
                                                 python_module=f"custom_nodes.{name}", source=f"pack {name!r}")
        except DuplicateNodeError as exc:
            pack.refused.append(str(exc))
        except Exception as exc:
            pack.refused.append(f"node {label!r} refused: {type(exc).__name__}: {exc}")
        else:
            registered[class_type] = node_class
            pack.node_ids.append(class_type)
    if web_dir is not None:
        registry.add_web_directory(name, web_dir)
    report.loaded.append(pack)


def missing_symbol_hint(exc: BaseException) -> str:
    """For `from comfy.x import y` of a name latentgraph does not provide: which ComfyUI module it was (Python's
    message names our nodes.compat module) and what that module has instead; "" for any other error."""
    module_name = getattr(exc, "name", None)
    prefix = compat_aliases.COMPAT_PREFIX
    if not isinstance(exc, ImportError) or isinstance(exc, ModuleNotFoundError) or not module_name \
            or not module_name.startswith(prefix) or module_name not in sys.modules:
        return ""
    module = sys.modules[module_name]
    names = sorted(n for n in getattr(module, "__all__", None) or dir(module) if not n.startswith("_"))
    shown = ", ".join(names[:40]) + (", ..." if len(names) > 40 else "")
    comfy_name = module_name[len(prefix):]
    return (f" (latentgraph provides part of ComfyUI's {comfy_name} to packs, not that name; {comfy_name} has: "
            f"{shown})")


def import_pack(name: str, path: Path) -> Any:
    """Imports a pack file or package under a unique module name; removes it again on failure."""
    base_name = MODULE_PREFIX + re.sub(r"\W", "_", name)
    module_name, suffix = base_name, 1
    while module_name in sys.modules:
        suffix += 1
        module_name = f"{base_name}_{suffix}"
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(module_name, path / "__init__.py",
                                                      submodule_search_locations=[str(path)])
    else:
        spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    _ensure_parent_package()
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        for loaded in [m for m in sys.modules if m == module_name or m.startswith(module_name + ".")]:
            del sys.modules[loaded]
        raise
    return module


def _ensure_parent_package() -> None:
    """A namespace module so relative imports inside packs resolve their parent."""
    parent = MODULE_PREFIX.rstrip(".")
    if parent not in sys.modules:
        import types

        namespace = types.ModuleType(parent)
        namespace.__path__ = []  # a package with no files of its own
        sys.modules[parent] = namespace


def entrypoint_node_classes(module: Any) -> list[Any]:
    """The node classes of a V3 pack: `comfy_entrypoint()` awaited, `on_load()`, then `get_node_list()`.

    [] when the module has no `comfy_entrypoint`; PackError when it gives no extension or no list.
    """
    entrypoint = getattr(module, "comfy_entrypoint", None)
    if entrypoint is None:
        return []
    if not callable(entrypoint):
        raise PackError(f"comfy_entrypoint must be an async function, got {type(entrypoint).__name__}")
    extension = run_to_completion(entrypoint())
    if not callable(getattr(extension, "get_node_list", None)):
        raise PackError(f"comfy_entrypoint() must return a ComfyExtension (with get_node_list()), "
                        f"got {type(extension).__name__}")
    on_load = getattr(extension, "on_load", None)
    if callable(on_load):
        run_to_completion(on_load())
    node_list = run_to_completion(extension.get_node_list())
    if not isinstance(node_list, (list, tuple)):
        raise PackError(f"get_node_list() must return a list of node classes, got {type(node_list).__name__}")
    return list(node_list)


def read_contract(module: Any, path: Path) -> tuple[Mapping[str, Any], Mapping[str, str], Path | None]:
    """(NODE_CLASS_MAPPINGS or {} for a V3 pack, NODE_DISPLAY_NAME_MAPPINGS, WEB_DIRECTORY as a path or None)."""
    mappings = getattr(module, "NODE_CLASS_MAPPINGS", None)
    if mappings is None and callable(getattr(module, "comfy_entrypoint", None)):
        mappings = {}
    if mappings is None:
        raise PackError("the module defines no NODE_CLASS_MAPPINGS (and no comfy_entrypoint)")
    if not isinstance(mappings, Mapping):
        raise PackError(f"NODE_CLASS_MAPPINGS must be a dict, got {type(mappings).__name__}")
    bad_keys = [k for k in mappings if not isinstance(k, str) or not k]
    if bad_keys:
        raise PackError(f"NODE_CLASS_MAPPINGS keys must be non-empty strings, got {bad_keys!r}")
    display_names = getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", None) or {}
    if not isinstance(display_names, Mapping):
        raise PackError(f"NODE_DISPLAY_NAME_MAPPINGS must be a dict, got {type(display_names).__name__}")
    web_dir = None
    web_value = getattr(module, "WEB_DIRECTORY", None)
    if web_value is not None:
        base = path if path.is_dir() else path.parent
        candidate = (base / str(web_value)).resolve()
        if candidate.is_dir():
            web_dir = candidate
        else:
            log.warning("custom node pack %s: WEB_DIRECTORY %s is not a directory; ignored", path.name, candidate)
    return mappings, {str(k): str(v) for k, v in display_names.items()}, web_dir
