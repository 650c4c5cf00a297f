"""GET /view_metadata/{folder_name}?filename=X.safetensors: the `__metadata__` of a model file.

Only the safetensors header is read (8-byte little-endian length, then that many bytes of
JSON), and only when it is at most `MAX_HEADER_BYTES` long and fits in the file. The name is
checked as text (no `..`, absolute paths, backslashes, NUL or control characters) and then
looked up in the folders of one model key, as the loaders do (symlinks an administrator put
inside a model folder are followed, as by /models and the loaders).

Answers: 200 the metadata dict; 400 no or malformed filename (403 when it would leave the
folder); 404 unknown folder, not a .safetensors name, no such file, or no `__metadata__`
(ComfyUI answers 404 to all of these); 422 a header that cannot be read (truncated, too
long, not JSON, wrong shapes). Never a 500 for what a client sends.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from .paths import PathRefusedError, check_subfolder
from .ports import FolderLayout
from .routes_info import model_keys
from .state import state_of

MAX_HEADER_BYTES = 8 * 1024 * 1024
MAX_NAME_CHARS = 1024
# ComfyUI's legacy folder keys.
_LEGACY_KEYS = {"clip": "text_encoders", "unet": "diffusion_models"}


class MetadataError(Exception):
    """Why no metadata can be given: an HTTP status, an error type and a sentence."""

    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_


def _error(status: int, type_: str, message: str) -> web.Response:
    return web.json_response({"error": {"type": type_, "message": message, "details": "", "extra_info": {}}},
                             status=status)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_safetensors_metadata(path: Path, max_header_bytes: int = MAX_HEADER_BYTES) -> dict | None:
    """The header's `__metadata__` dict (None when the header has none). Reads at most
    8 + max_header_bytes bytes. Raises MetadataError(422) when the header is unreadable."""
    name = Path(path).name

    def corrupt(why: str) -> MetadataError:
        return MetadataError(422, "invalid_safetensors", f"{name!r} has no readable safetensors header: {why}.")

    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise corrupt("the file is shorter than the 8-byte header length")
        length = int.from_bytes(prefix, "little")
        if length > max_header_bytes:
            raise corrupt(f"the header claims {length} bytes, more than the {max_header_bytes} allowed")
        if length < 2 or 8 + length > size:
            raise corrupt(f"the header claims {length} bytes but the file holds {max(size - 8, 0)} after the length")
        raw = handle.read(length)
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise corrupt(f"the header is not JSON ({str(exc)[:120]})") from None
    if not isinstance(header, dict):
        raise corrupt("the header is not a JSON object")
    metadata = header.get("__metadata__")
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise corrupt("__metadata__ is not a JSON object")
    return metadata


def find_model_file(folders: FolderLayout, folder_name: str, filename: str) -> Path:
    """The file `filename` (a relative name, subfolders allowed) of model key `folder_name`.
    Raises PathRefusedError for a malformed name, MetadataError(404) when there is no such file."""
    if len(filename) > MAX_NAME_CHARS:
        raise PathRefusedError(400, f"The file name is longer than {MAX_NAME_CHARS} characters.")
    check_subfolder(filename)
    if not filename.strip() or filename.endswith("/"):
        raise PathRefusedError(400, f"The file name {filename[:80]!r} names no file.")
    key = _LEGACY_KEYS.get(folder_name, folder_name)
    if key not in model_keys(folders):
        raise MetadataError(404, "unknown_folder", f"There is no model folder {folder_name[:80]!r}.")
    try:
        path = Path(folders.resolve(key, filename))
        if path.is_file():
            return path
    except (FileNotFoundError, KeyError):
        pass
    except ValueError as exc:  # the folders object refused the name itself
        raise PathRefusedError(400, str(exc)) from None
    except OSError as exc:  # name too long for the file system, and the like
        raise PathRefusedError(400, f"The file name {filename[:80]!r} cannot be used: {exc.strerror}.") from None
    raise MetadataError(404, "not_found", f"{filename[:80]!r} is not in the {folder_name[:80]!r} model folder.")


def _metadata_for(folders: FolderLayout, folder_name: str, filename: str) -> dict:
    path = find_model_file(folders, folder_name, filename)
    try:
        metadata = read_safetensors_metadata(path)
    except OSError as exc:
        raise MetadataError(404, "not_found", f"{filename[:80]!r} cannot be read: {exc.strerror}.") from None
    if metadata is None:
        raise MetadataError(404, "no_metadata", f"{filename[:80]!r} has no __metadata__ in its header.")
    return metadata


async def view_metadata(request: web.Request) -> web.Response:
    """GET /view_metadata/{folder_name}?filename=..."""
    folder_name = request.match_info["folder_name"]
    filename = request.query.get("filename")
    if not filename:
        return _error(400, "missing_filename", "Give the model file as ?filename=<name>.safetensors.")
    if not filename.lower().endswith(".safetensors"):
        return _error(404, "not_safetensors", f"{filename[:80]!r} is not a .safetensors file; only those have metadata.")
    folders = state_of(request).folders
    try:
        metadata = await asyncio.get_running_loop().run_in_executor(None, _metadata_for, folders, folder_name,
                                                                    filename)
    except PathRefusedError as exc:
        return _error(exc.status, "bad_path", str(exc))
    except MetadataError as exc:
        return _error(exc.status, exc.type, str(exc))
    return web.json_response(metadata)


ROUTES = [("GET", "/view_metadata/{folder_name}", view_metadata)]
