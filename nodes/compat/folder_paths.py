"""ComfyUI's `folder_paths` module for custom node packs, answered by latentgraph's `Folders`.

Most packs `import folder_paths` to list and find models (`get_filename_list("loras")`,
`get_full_path`), to read input images (`get_annotated_filepath`), to save outputs
(`get_output_directory`, `get_save_image_path`) and to register a model folder of their own
(`add_model_folder_path`, or writing `folder_names_and_paths[...]`). `load_custom_nodes` binds this
module to the runtime's folders and makes it importable as `folder_paths` before packs are imported.
It is process-wide, like ComfyUI's: the last bound folders answer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from folders.model_folders import MODEL_EXTENSIONS
from folders.output_names import expand_prefix, next_counter_path
from folders.safe_paths import UnsafePathError

supported_pt_extensions: set[str] = set(MODEL_EXTENSIONS)
_folders: Any = None


class NotBoundError(RuntimeError):
    """folder_paths was used before latentgraph bound it to its folders."""


def bind(folders: Any) -> None:
    """Answer every call from `folders` (an folders.layout.Folders) and expose it as `folder_paths`."""
    global _folders
    _folders = folders
    module = sys.modules[__name__]
    for name, directory in (("base_path", folders.base_dir), ("models_dir", folders.models_dir),
                            ("output_directory", folders.output_dir), ("input_directory", folders.input_dir),
                            ("temp_directory", folders.temp_dir), ("user_directory", folders.user_dir)):
        setattr(module, name, str(directory))
    sys.modules.setdefault("folder_paths", module)


def _bound() -> Any:
    if _folders is None:
        raise NotBoundError("folder_paths is not bound to latentgraph's folders yet (packs get it when loaded)")
    return _folders


def get_input_directory() -> str:
    return str(_bound().input_dir)


def get_output_directory() -> str:
    return str(_bound().output_dir)


def get_temp_directory() -> str:
    return str(_bound().temp_dir)


def get_user_directory() -> str:
    return str(_bound().user_dir)


def get_directory_by_type(type_name: str) -> str | None:
    """input, output or temp; None for anything else (as ComfyUI)."""
    return str(_bound().directory(type_name)) if type_name in ("input", "output", "temp") else None


def get_folder_paths(folder_name: str) -> list[str]:
    """The directories searched for `folder_name` (KeyError for an unknown one, as ComfyUI)."""
    return [str(path) for path in _bound().model_paths(folder_name)]


def get_filename_list(folder_name: str) -> list[str]:
    """Sorted relative names of the model files of `folder_name` (KeyError for an unknown folder)."""
    return _bound().list_files(folder_name)


def get_full_path(folder_name: str, filename: str) -> str | None:
    """The file's path, or None when no folder holds it or the name would leave the folder."""
    try:
        return str(_bound().resolve(folder_name, filename))
    except (FileNotFoundError, UnsafePathError, KeyError):
        return None


def get_full_path_or_raise(folder_name: str, filename: str) -> str:
    path = get_full_path(folder_name, filename)
    if path is None:
        raise FileNotFoundError(f"Model in folder '{folder_name}' with filename '{filename}' not found.")
    return path


def add_model_folder_path(folder_name: str, full_folder_path: str, is_default: bool = False) -> None:
    _bound().add_model_path(folder_name, full_folder_path, is_default=is_default)


def annotated_filepath(name: str) -> tuple[str, str | None]:
    """("x.png", output dir) for "x.png [output]"; (name, None) without an annotation."""
    folder_type, bare = _bound().annotated(name, default="")
    return (bare, str(_bound().directory(folder_type))) if folder_type else (name, None)


def get_annotated_filepath(name: str, default_dir: str | None = None) -> str:
    bare, directory = annotated_filepath(name)
    if directory is None:
        directory = default_dir if default_dir is not None else get_input_directory()
    return os.path.join(directory, bare)


def exists_annotated_filepath(name: str) -> bool:
    return os.path.exists(get_annotated_filepath(name))


def filter_files_extensions(files: Iterable[str], extensions: Iterable[str]) -> list[str]:
    """The names whose extension is in `extensions` (all of them when it is empty), sorted."""
    wanted = {e.lower() for e in extensions}
    return sorted(f for f in files if not wanted or os.path.splitext(f)[1].lower() in wanted)


def get_save_image_path(filename_prefix: str, output_dir: str, image_width: int = 0,
                        image_height: int = 0) -> tuple[str, str, int, str, str]:
    """(folder, file name stem, next counter, subfolder, expanded prefix), as SaveImage uses them.
    A prefix that would leave `output_dir` raises (UnsafePathError, a ValueError)."""
    prefix = expand_prefix(filename_prefix, image_width, image_height)
    path, subfolder, filename = next_counter_path(output_dir, prefix)
    stem = Path(prefix).name
    counter = int(filename[len(stem) + 1:].split("_", 1)[0])  # <stem>_<counter>_.png, 5+ digits
    return str(path.parent), stem, counter, subfolder, prefix


class _FolderNamesAndPaths(MutableMapping):
    """`folder_names_and_paths`: {key: ([paths], {extensions})}, live; assigning adds search paths."""

    def __getitem__(self, key: str) -> tuple[list[str], set[str]]:
        return get_folder_paths(key), set(supported_pt_extensions)

    def __setitem__(self, key: str, value: Any) -> None:
        paths = value[0] if isinstance(value, tuple) else value
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        for path in paths:
            add_model_folder_path(key, os.fspath(path))

    def __delitem__(self, key: str) -> None:
        raise TypeError("model folders cannot be removed through folder_paths")

    def __iter__(self) -> Iterator[str]:
        return iter(_bound().known_keys())

    def __len__(self) -> int:
        return len(_bound().known_keys())


folder_names_and_paths = _FolderNamesAndPaths()
