"""DiffusersLoader (ComfyUI's deprecated loader of diffusers model folders).

The choices are the folders under the `diffusers` model paths that hold a model_index.json,
as paths relative to their model path. The change fingerprint lists every file of the chosen
folder with its size and mtime, so replacing any part re-runs the loader.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from folders.safe_paths import check_relative_name
from nodes.api.declare import Combo, Node, Out
from nodes.api.lazy import lazy_import
from nodes.api.runtime import runtime_of
from nodes.library.loaders.model_loaders import _place_vae, embeddings_dirs, model_services

diffusers_folder = lazy_import("diffusion.checkpoints.diffusers_folder")
MARKER = "model_index.json"


def diffusers_folders(runtime: Any) -> list[str]:
    """Every folder holding a model_index.json under the diffusers model paths, relative to its path."""
    if runtime is None:
        return []
    names: list[str] = []
    for root in runtime.folders.model_paths("diffusers"):
        root = Path(root)
        if not root.is_dir():
            continue
        for directory, subdirectories, files in os.walk(root, followlinks=True):
            if MARKER in files:
                names.append(Path(directory).relative_to(root).as_posix())
                subdirectories.clear()  # a model folder's parts are not models of their own
    return sorted(set(names))


def resolve_folder(runtime: Any, name: Any, node: str) -> Path:
    """The named diffusers folder; errors name the node input."""
    try:
        check_relative_name(name, "diffusers folder name")
    except ValueError as exc:
        raise ValueError(f"{node}: input 'model_path': {exc}") from None
    roots = runtime.folders.model_paths("diffusers")
    for root in roots:
        candidate = Path(root) / PurePosixPath(name)
        if (candidate / MARKER).is_file():
            return candidate
    raise FileNotFoundError(f"{node}: input 'model_path': {name!r} is not a diffusers folder (with {MARKER}) in "
                            f"the 'diffusers' folder (searched: {', '.join(str(r) for r in roots)})")


def folder_fingerprint(folder: Path) -> list:
    """[relative path, size, mtime_ns] of every file in the folder, sorted."""
    entries = []
    for directory, _subdirectories, files in os.walk(folder, followlinks=True):
        for name in files:
            stat = (Path(directory) / name).stat()
            entries.append([(Path(directory) / name).relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns])
    return sorted(entries)


class DiffusersLoader(Node):
    node_id = "DiffusersLoader"
    category = "advanced/loaders/deprecated"
    description = ("Loads a diffusers model folder (SD1.x, SD2.x, SDXL). The prediction type is read from "
                   "scheduler/scheduler_config.json; the family from the UNet's shapes.")
    inputs = [Combo("model_path", diffusers_folders)]
    outputs = [Out("MODEL"), Out("CLIP"), Out("VAE")]

    @classmethod
    def fingerprint(cls, ctx: Any, *, model_path: Any) -> list:
        return folder_fingerprint(resolve_folder(runtime_of(ctx, cls.node_id), model_path, cls.node_id))

    @classmethod
    def run(cls, ctx: Any, *, model_path: str) -> tuple:
        folder = resolve_folder(runtime_of(ctx, cls.node_id), model_path, cls.node_id)
        services = ctx.runtime.models
        choice = services.choice

        def load() -> tuple:
            try:
                loaded = diffusers_folder.load_diffusers(
                    folder, embeddings_dirs=embeddings_dirs(ctx), dtype=choice.unet_dtype,
                    clip_dtype=choice.text_encoder_dtype, vae_dtype=choice.vae_dtype, load_device=choice.device)
            except diffusers_folder.CheckpointError as exc:
                raise diffusers_folder.CheckpointError(f"{cls.node_id}: {exc}") from None
            return model_services.prepare_unet(loaded.model, choice), loaded.clip, _place_vae(loaded.vae, services)

        key = ("diffusers", str(folder), repr(folder_fingerprint(folder)), str(choice.unet_dtype))
        return services.files.handles(key, load, source=model_services.file_source(folder))


NODES = [DiffusersLoader]
