"""Which model files the queued prompts will load, so the model manager keeps those resident longest.

Before each prompt the worker (server/worker.py, in-process runs only) looks at the next `MAX_PROMPTS`
pending prompts of the store and tells the runtime which model files they name
(`NeededModelsTarget.models_needed_soon`): the model manager then evicts those models last (a queue that
alternates two checkpoints on a small GPU keeps the one the next prompt uses, not the one used last).

A file is named by a string input of a node that ends in a model file extension and is a file of one of
the runtime's model folders (`folders.resolve(key, name)`, as the loaders resolve `ckpt_name`,
`vae_name`, ...), as its resolved path: the same string the loaders give the models they load
(`ModelPatcher.source`). A name found in two folders counts for both. This reads the parsed prompts the
store holds and asks the file system about a few names: no graph is planned, no node is imported, and
whatever goes wrong is logged and ignored, as it is only a hint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

from .ports import FolderLayout
from .store import Store

log = logging.getLogger("latentgraph.server.worker")

# How many pending prompts are looked at: the next ones run first; further ones can be reloaded later.
MAX_PROMPTS = 8
# Input values that may name a model file (the model folders' extensions; configs and images are not models).
# folders.model_folders.MODEL_EXTENSIONS plus formats custom packs load from their own folders (GGUF, ONNX):
# a name is only a hint until the folders resolve it, so a wider net costs nothing.
MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pt2", ".pth", ".bin", ".sft", ".gguf", ".pkl", ".onnx")
MAX_NAME_CHARS = 512
NOT_MODEL_FOLDERS = frozenset({"custom_nodes", "configs"})


@runtime_checkable
class NeededModelsTarget(Protocol):
    """A runtime that can be told which model files the next prompts load (nodes.api.runtime.NodeRuntime)."""

    @property
    def folders(self) -> FolderLayout: ...

    def models_needed_soon(self, paths: Iterable[str]) -> None:
        """The resolved paths of the model files the next queued prompts load."""
        ...


def model_file_names(prompt: dict) -> list[str]:
    """The literal string inputs of a prompt's nodes that look like model file names, in prompt order."""
    names: list[str] = []
    for node in prompt.values():
        inputs = node.get("inputs") if isinstance(node, dict) else None
        if not isinstance(inputs, dict):
            continue
        for value in inputs.values():
            if (isinstance(value, str) and len(value) <= MAX_NAME_CHARS and value.lower().endswith(MODEL_SUFFIXES)
                    and value not in names):
                names.append(value)
    return names


def model_files_named(prompts: Iterable[object]) -> list[str]:
    """The model file names the prompts name (`model_file_names`), each once, in prompt order; anything that is
    not a prompt dict names none."""
    names: list[str] = []
    for prompt in prompts:
        if isinstance(prompt, dict):
            names += [name for name in model_file_names(prompt) if name not in names]
    return names


def resolve_model_files(folders: FolderLayout, names: Iterable[str]) -> list[str]:
    """The resolved paths of the `names` that are files of some model folder (each folder that holds one)."""
    keys = [key for key in folders.known_keys() if key not in NOT_MODEL_FOLDERS]
    paths: list[str] = []
    for name in names:
        for key in keys:
            try:
                path = str(Path(folders.resolve(key, name)).resolve())
            except (OSError, ValueError, KeyError):  # not in this folder, or not a safe name
                continue
            if path not in paths:
                paths.append(path)
    return paths


def pending_model_files(store: Store, folders: FolderLayout, limit: int = MAX_PROMPTS) -> list[str]:
    """The model files the next `limit` pending prompts name, soonest prompt first."""
    _, pending = store.queue()
    return resolve_model_files(folders, model_files_named(item.prompt for item in pending[:limit]))


def tell_needed_soon(target: object, store: Store) -> None:
    """Tell `target` (when it is a NeededModelsTarget) the model files the pending prompts name; never raises."""
    if not isinstance(target, NeededModelsTarget):
        return
    try:
        target.models_needed_soon(pending_model_files(store, target.folders))
    except Exception:  # a hint for the model manager: never the reason a prompt fails
        log.exception("could not work out the models the queued prompts need; eviction stays least recently used")
