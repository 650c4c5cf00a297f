"""ComfyUI's `nodes` module contents for packs: the core node types as classic classes, callable from Python.

Packs write `nodes.KSampler().sample(model, seed, ...)`, subclass `nodes.LoadImage`, or read
`nodes.NODE_CLASS_MAPPINGS["CLIPTextEncode"]`. Each built-in declared node (nodes/build.py's modules)
gets a generated classic class under its ComfyUI name: INPUT_TYPES / RETURN_TYPES / RETURN_NAMES /
OUTPUT_IS_LIST / FUNCTION / CATEGORY / OUTPUT_NODE from its declaration, and a method named FUNCTION
(nodes/compat/core_functions.py) taking ComfyUI's positional order. The method runs the declared
node's `run` through DeclaredNodeType and returns a tuple, or `{"ui": ..., "result": ...}` when the
node reports ui output (SaveImage, PreviewImage), as ComfyUI's methods do.

A node called this way needs a runtime (folders, model services): inside a running node it is that
node's (graph/running.py; the nested call also shares its progress, interrupt and ids); else the one
`bind(runtime)` set; else the folders `folder_paths` was bound to (at pack load) give a runtime of
their own, built once. nodes/__init__.py reaches this module lazily, so importing `nodes.*` stays cheap.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import threading
from typing import Any

from graph.context import NodeContext
from nodes.api.declare import DeclaredNodeType, Node
from nodes.api.inputs import HIDDEN_NAMES
from nodes.api.object_info import node_info
from nodes.compat.core_functions import function_of

log = logging.getLogger("latentgraph.compat")

MAX_RESOLUTION = 16384

_lock = threading.RLock()
_bound_runtime: Any = None
_fallback: tuple[Any, Any] | None = None  # (folders, runtime built on them)
_classes: dict[str, type] | None = None
_display_names: dict[str, str] | None = None
_adapters: dict[tuple[type, int], DeclaredNodeType] = {}


class NoRuntimeError(RuntimeError):
    """A core node was called from Python before latentgraph gave the compat layer a runtime."""


def bind(runtime: Any) -> None:
    """Use `runtime` (a nodes.api.runtime.NodeRuntime) for every core node called from Python."""
    global _bound_runtime
    with _lock:
        _bound_runtime = runtime
        _adapters.clear()


def running_context() -> NodeContext | None:
    """The NodeContext of the node this code runs inside (None outside, or without graph/running.py)."""
    try:
        from graph.running import running_node
    except ImportError:
        return None
    return running_node()


def current_runtime(required: bool = True) -> Any:
    """The running node's runtime; else the bound one; else one built on folder_paths' folders;
    else NoRuntimeError (or None when not `required`)."""
    global _fallback
    running = running_context()
    if running is not None and running.runtime is not None:
        return running.runtime
    with _lock:
        if _bound_runtime is not None:
            return _bound_runtime
        from nodes.compat import folder_paths

        folders = folder_paths._folders
        if folders is not None:
            if _fallback is None or _fallback[0] is not folders:
                from nodes.api.runtime import NodeRuntime

                log.info("core nodes called from a pack use a runtime of their own over %s", folders.base_dir)
                _fallback = (folders, NodeRuntime(folders=folders))
            return _fallback[1]
    if required:
        raise NoRuntimeError("a ComfyUI core node was called from Python before latentgraph bound a runtime "
                             "(nodes.compat.core_nodes.bind(runtime), or folder_paths bound at pack load)")
    return None


def _adapter(node_cls: type[Node], runtime: Any) -> DeclaredNodeType:
    key = (node_cls, id(runtime))
    with _lock:
        adapter = _adapters.get(key)
        if adapter is None:
            adapter = _adapters[key] = DeclaredNodeType(node_cls, runtime)
        return adapter


def _classic_entry(entry: list) -> tuple:
    """An /object_info input entry as INPUT_TYPES writes it: (TYPE, {opts}) or ([choices], {opts})."""
    return tuple(entry)


def input_types(node_cls: type[Node]) -> dict:
    """ComfyUI's INPUT_TYPES() of a declared node (file lists read from the current runtime's folders)."""
    schema = _adapter(node_cls, current_runtime(required=False)).schema()
    sections = node_info(schema)["input"]
    return {section: (dict(entries) if section == "hidden" else
                      {name: _classic_entry(entry) for name, entry in entries.items()})
            for section, entries in sections.items()}


def call_node(node_cls: type[Node], order: tuple[str, ...] | None, args: tuple, kwargs: dict) -> Any:
    """Run a declared node with ComfyUI's positional/keyword arguments; ComfyUI's return shape."""
    class_type = node_cls.node_id or node_cls.__name__
    declared = [i.name for i in node_cls.inputs]
    hidden = [HIDDEN_NAMES[kind] for kind in node_cls.hidden]
    names = list(order) if order is not None else [*declared, *hidden]
    if len(args) > len(names):
        raise TypeError(f"{class_type}: takes at most {len(names)} positional arguments ({', '.join(names)}), "
                        f"got {len(args)}")
    inputs = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name in inputs:
            raise TypeError(f"{class_type}: got two values for argument {name!r}")
        if name not in declared and name not in hidden:
            raise TypeError(f"{class_type}: unexpected argument {name!r}; its inputs are {', '.join(declared)}")
        inputs[name] = value
    for item in node_cls.inputs:
        if item.name in inputs or item.optional:
            continue
        if item.default is None:
            raise TypeError(f"{class_type}: missing argument {item.name!r}")
        inputs[item.name] = item.default
    for name in hidden:
        inputs.setdefault(name, None)
    runtime = current_runtime()
    running = running_context()
    if running is not None:  # progress, interrupt and ids of the node that makes the call
        ctx = dataclasses.replace(running, class_type=class_type, runtime=runtime)
    else:
        ctx = NodeContext(node_id=str(inputs.get("unique_id") or ""), prompt_id="", class_type=class_type,
                          runtime=runtime, prompt=inputs.get("prompt") or {}, extra_data={})
    output = _adapter(node_cls, runtime).execute(ctx, inputs)
    if output.ui is not None:
        return {"ui": output.ui, "result": tuple(output.values)}
    return tuple(output.values)


def classic_class(node_cls: type[Node]) -> type:
    """A ComfyUI classic class running the declared `node_cls` (named and shaped as ComfyUI's)."""
    class_type = node_cls.node_id or node_cls.__name__
    function, order = function_of(class_type)
    outputs = list(node_cls.outputs)

    def method(self, *args, **kwargs):
        return call_node(node_cls, order, args, kwargs)

    method.__name__ = function
    method.__qualname__ = f"{class_type}.{function}"
    method.__doc__ = f"ComfyUI's {class_type}.{function}: runs latentgraph's {class_type} node."

    def input_types_method(cls):
        return input_types(node_cls)

    attributes = {
        "__module__": "nodes",
        "__doc__": node_cls.description or f"ComfyUI's {class_type} node (latentgraph's declaration).",
        "INPUT_TYPES": classmethod(input_types_method),
        "RETURN_TYPES": tuple(o.to_spec().type for o in outputs),
        "RETURN_NAMES": tuple(o.to_spec().name for o in outputs),
        "OUTPUT_IS_LIST": tuple(o.to_spec().is_list for o in outputs),
        "FUNCTION": function,
        "CATEGORY": node_cls.category,
        "DESCRIPTION": node_cls.description or "",
        "OUTPUT_NODE": bool(node_cls.output_node),
        "INPUT_IS_LIST": bool(node_cls.input_is_list),
        "DEPRECATED": bool(node_cls.deprecated),
        "EXPERIMENTAL": bool(node_cls.experimental),
        "NOT_IDEMPOTENT": bool(node_cls.not_idempotent),
        "LATENTGRAPH_NODE": node_cls,
        function: method,
    }
    return type(class_type, (), attributes)


def _collect() -> tuple[dict[str, type], dict[str, str]]:
    from nodes.build import BUILTIN_NODE_MODULES

    classes: dict[str, type] = {}
    display: dict[str, str] = {}
    for module_name in BUILTIN_NODE_MODULES:
        for node_cls in importlib.import_module(module_name).NODES:
            if isinstance(node_cls, type) and issubclass(node_cls, Node):
                class_type = node_cls.node_id or node_cls.__name__
                classes[class_type] = classic_class(node_cls)
                display[class_type] = node_cls.display_name or class_type
            else:  # a built-in written as a classic class already
                classes[node_cls.__name__] = node_cls
                display[node_cls.__name__] = getattr(node_cls, "DISPLAY_NAME", None) or node_cls.__name__
    return classes, display


def node_class_mappings() -> dict[str, type]:
    """ComfyUI's NODE_CLASS_MAPPINGS: every built-in node id -> its classic class (built once)."""
    global _classes, _display_names
    with _lock:
        if _classes is None:
            _classes, _display_names = _collect()
        return _classes


def node_display_name_mappings() -> dict[str, str]:
    node_class_mappings()
    return _display_names  # type: ignore[return-value]


def declared_node(class_type: str) -> type[Node]:
    """The declared Node class behind core node `class_type` (KeyError naming it when there is none)."""
    node_cls = getattr(node_class_mappings().get(class_type), "LATENTGRAPH_NODE", None)
    if node_cls is None:
        raise KeyError(f"{class_type!r} is not one of latentgraph's declared core nodes")
    return node_cls


def core_class(name: str) -> type:
    """The classic class of core node `name`, or an AttributeError naming what `nodes` has."""
    classes = node_class_mappings()
    if name in classes:
        return classes[name]
    raise AttributeError(f"module 'nodes' has no attribute {name!r}: latentgraph's `nodes` module offers packs "
                         f"MAX_RESOLUTION, NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS and the core node "
                         f"classes ({len(classes)}, e.g. KSampler, CLIPTextEncode, VAEDecode)")


def reexport(module: str, names: tuple[str, ...]) -> tuple[Any, Any]:
    """(__getattr__, __dir__) for a comfy_extras module: its ComfyUI node classes, looked up on first use.

    `names` are ComfyUI's class names, "Class:NodeId" where the class is not named as its node
    (nodes_post_processing's Blend is the ImageBlend node). A name latentgraph does not have raises
    AttributeError naming what the module has."""
    node_ids = dict(name.partition(":")[::2] for name in names)
    node_ids = {cls: node_id or cls for cls, node_id in node_ids.items()}

    def offered() -> list[str]:
        classes = node_class_mappings()
        return [cls for cls, node_id in node_ids.items() if node_id in classes]

    def module_getattr(name: str) -> Any:
        classes = node_class_mappings()
        if name in node_ids and node_ids[name] in classes:
            return classes[node_ids[name]]
        raise AttributeError(f"module {module!r} has no attribute {name!r}: latentgraph provides its node classes "
                             f"{', '.join(offered())}")

    def module_dir() -> list[str]:
        return sorted(offered())

    return module_getattr, module_dir
