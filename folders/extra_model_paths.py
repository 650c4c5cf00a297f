"""ComfyUI's `extra_model_paths.yaml`: sections of folder keys mapped to extra search paths."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from folders.model_folders import LEGACY_KEYS


class FolderConfigError(ValueError):
    """A bad extra_model_paths YAML file; the message names the file (and line)."""


def read_extra_model_paths(config_path: str | os.PathLike) -> list[tuple[str, Path, bool]]:
    """Parses one extra_model_paths.yaml into (folder key, path, is_default) triples.

    Each top-level section may have `base_path` (relative to the YAML file's folder) and
    `is_default`; every other key maps a folder key to one path or several separated by
    newlines, relative to base_path (or to the YAML file's folder when there is none).
    """
    path = Path(config_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FolderConfigError(f"extra model paths config {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FolderConfigError(f"cannot read extra model paths config {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        context = ""
        if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
            context = f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise FolderConfigError(f"{path}:{where} invalid YAML: {exc.problem or exc}{context}") from None
    except yaml.YAMLError as exc:
        raise FolderConfigError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise FolderConfigError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    found: list[tuple[str, Path, bool]] = []
    for section, entries in data.items():
        if entries is None:
            continue
        if not isinstance(entries, dict):
            raise FolderConfigError(f"{path}: section {section!r} must be a mapping of folder names to paths")
        found.extend(_read_section(path, str(section), entries))
    return found


def _read_section(path: Path, section: str, entries: dict) -> list[tuple[str, Path, bool]]:
    yaml_dir = path.resolve().parent
    base_value = entries.get("base_path")
    base: Path | None = None
    if base_value is not None:
        if not isinstance(base_value, str):
            raise FolderConfigError(f"{path}: section {section!r}: base_path must be a string")
        base = Path(os.path.expanduser(os.path.expandvars(base_value)))
        if not base.is_absolute():
            base = yaml_dir / base
    is_default = bool(entries.get("is_default", False))
    found = []
    for key, value in entries.items():
        if key in ("base_path", "is_default"):
            continue
        if not isinstance(value, str):
            raise FolderConfigError(
                f"{path}: section {section!r}, key {key!r}: expected a path or newline-separated paths, "
                f"got {type(value).__name__}"
            )
        for line in value.splitlines():
            line = line.strip()
            if not line:
                continue
            target = Path(os.path.expanduser(os.path.expandvars(line)))
            if not target.is_absolute():
                target = (base or yaml_dir) / target
            found.append((LEGACY_KEYS.get(str(key), str(key)), Path(os.path.normpath(target)), is_default))
    return found
