"""The folder layout: models, input, output, temp, user, and where each model folder key looks.

Everything sits under a base directory (`--base-directory`, default: the project root,
as ComfyUI defaults to its own directory); input/output/temp/user may be moved with
their own flags, and `--extra-model-paths-config` adds model search paths in ComfyUI's
`extra_model_paths.yaml` format. Lists of files are read from disk on every call, so a
model copied into a folder shows up in the next validation without a restart.

Every function that turns an outside name into a path refuses names that could leave
their folder (`..`, absolute paths, NUL, backslashes, symlinks pointing outside).
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from folders.extra_model_paths import read_extra_model_paths
from folders.model_folders import FOLDER_EXTENSIONS, LEGACY_KEYS, MODEL_EXTENSIONS, MODEL_FOLDERS
from folders.output_names import next_counter_path
from folders.safe_paths import UnsafePathError, check_relative_name, safe_join

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DIRECTORY_KEYS = ("input", "output", "temp", "user")
ANNOTATION_RE = re.compile(r"^(?P<name>.*?)\s*\[(?P<type>input|output|temp)\]$")


@dataclass
class Folders:
    """Where everything lives. Build it with `Folders(base_dir)` or `Folders.from_args(args)`."""

    base_dir: Path
    input_dir: Path = None  # type: ignore[assignment]
    output_dir: Path = None  # type: ignore[assignment]
    temp_dir: Path = None  # type: ignore[assignment]
    user_dir: Path = None  # type: ignore[assignment]
    # Paths from extra_model_paths files: key -> (is_default paths first, then the others).
    extra_paths: dict[str, list[Path]] = field(default_factory=dict)
    _default_extra: dict[str, list[Path]] = field(default_factory=dict, repr=False)
    # Follow symlinks inside a folder that point outside it (ComfyUI does; off by default here:
    # a folder shows and reads only what lies under it, the folder itself may be a symlink).
    follow_outside_symlinks: bool = False

    def __post_init__(self) -> None:
        self.base_dir = Path(self.base_dir).resolve()
        self.input_dir = Path(self.input_dir or self.base_dir / "input").resolve()
        self.output_dir = Path(self.output_dir or self.base_dir / "output").resolve()
        self.temp_dir = Path(self.temp_dir or self.base_dir / "temp").resolve()
        self.user_dir = Path(self.user_dir or self.base_dir / "user").resolve()

    @property
    def models_dir(self) -> Path:
        return self.base_dir / "models"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Folders:
        """Builds the layout from the flags of `add_folder_arguments` (missing flags = defaults).

        `<base>/extra_model_paths.yaml` is read when it exists, as ComfyUI does.
        """
        base = Path(getattr(args, "base_directory", None) or PROJECT_ROOT)
        temp_parent = getattr(args, "temp_directory", None)
        folders = cls(
            base,
            input_dir=getattr(args, "input_directory", None),
            output_dir=getattr(args, "output_directory", None),
            # ComfyUI's --temp-directory names the parent of temp/.
            temp_dir=Path(temp_parent) / "temp" if temp_parent else None,
            user_dir=getattr(args, "user_directory", None),
        )
        folders.follow_outside_symlinks = bool(getattr(args, "follow_outside_symlinks", False))
        default_config = folders.base_dir / "extra_model_paths.yaml"
        if default_config.is_file():
            folders.add_extra_model_paths(default_config)
        for group in getattr(args, "extra_model_paths_config", None) or []:
            for config in [group] if isinstance(group, str) else group:
                folders.add_extra_model_paths(config)
        return folders

    def add_extra_model_paths(self, config_path: str | os.PathLike) -> None:
        """Adds the search paths of one extra_model_paths.yaml (raises FolderConfigError)."""
        for key, path, is_default in read_extra_model_paths(config_path):
            self.add_model_path(key, path, is_default=is_default)

    def add_model_path(self, key: str, path: str | os.PathLike, *, is_default: bool = False) -> None:
        """Adds one search path for `key`; `is_default` puts it before the built-in folders."""
        key = LEGACY_KEYS.get(key, key)
        target = self._default_extra if is_default else self.extra_paths
        paths = target.setdefault(key, [])
        if Path(path) not in paths:
            paths.append(Path(path))

    # -- model folders

    def known_keys(self) -> list[str]:
        return sorted({*MODEL_FOLDERS, "custom_nodes", *self.extra_paths, *self._default_extra})

    def model_paths(self, key: str) -> list[Path]:
        """Every directory searched for `key` (legacy names `clip`/`unet` accepted), in order."""
        if key in DIRECTORY_KEYS:
            return [self.directory(key)]
        key = LEGACY_KEYS.get(key, key)
        if key not in MODEL_FOLDERS and key != "custom_nodes" and key not in self.extra_paths \
                and key not in self._default_extra:
            raise KeyError(f"unknown model folder {key!r}; known folders: {', '.join(self.known_keys())}")
        if key == "custom_nodes":
            builtin = [self.base_dir / "custom_nodes"]
        else:
            builtin = [self.models_dir / name for name in MODEL_FOLDERS.get(key, ())]
        ordered: list[Path] = []
        for path in [*self._default_extra.get(key, []), *builtin, *self.extra_paths.get(key, [])]:
            if path not in ordered:
                ordered.append(path)
        return ordered

    def directory(self, folder_type: str) -> Path:
        """The input, output, temp or user directory by name."""
        dirs = {"input": self.input_dir, "output": self.output_dir, "temp": self.temp_dir, "user": self.user_dir}
        if folder_type not in dirs:
            raise KeyError(f"unknown folder type {folder_type!r}; expected one of input, output, temp, user")
        return dirs[folder_type]

    def list_files(self, key: str, extensions: frozenset[str] | set[str] | None = None,
                   recursive: bool = True) -> list[str]:
        """Sorted relative posix paths of the files in every folder of `key`.

        Model folders are filtered by the model extensions (configs by .yaml) unless
        `extensions` is given; input/output/temp/user list every file unless it is.
        Hidden files and folders are skipped; a name found in two folders is listed once.
        """
        if extensions is None:
            extensions = None if key in DIRECTORY_KEYS else FOLDER_EXTENSIONS.get(
                LEGACY_KEYS.get(key, key), MODEL_EXTENSIONS)
        wanted = {e.lower() for e in extensions} if extensions is not None else None
        names: set[str] = set()
        for root in self.model_paths(key):
            names.update(_walk_files(root, wanted, recursive, self.follow_outside_symlinks))
        return sorted(names)

    def resolve(self, key: str, name: str) -> Path:
        """The file `name` (a relative posix path as listed by list_files) in the folders of `key`.

        Raises UnsafePathError for names that could leave the folder ("..", absolute, NUL,
        backslash) and a FileNotFoundError naming the folder when no folder holds the file.
        A symlink inside a folder that points outside it is refused (UnsafePathError) unless
        `follow_outside_symlinks`, as list_files leaves it out.
        """
        check_relative_name(name, f"{key} file name")
        roots = self.model_paths(key)
        for root in roots:
            candidate = Path(root) / PurePosixPath(name)
            if candidate.is_file():
                if not self.follow_outside_symlinks and not _stays_inside(candidate, Path(root)):
                    raise UnsafePathError(f"{name!r} in the {key!r} folder is a link to a file outside it "
                                          "(allow with --follow-outside-symlinks)")
                return candidate
        searched = ", ".join(str(r) for r in roots)
        raise FileNotFoundError(f"{name!r} was not found in the {key!r} folder (searched: {searched})")

    # -- input/output/temp names

    @staticmethod
    def annotated(name: str, default: str = "input") -> tuple[str, str]:
        """Splits ComfyUI's `"x.png [output]"` suffix: returns (folder type, bare name)."""
        match = ANNOTATION_RE.match(name) if isinstance(name, str) else None
        if match:
            return match.group("type"), match.group("name")
        return default, name

    def annotated_path(self, name: str, default: str = "input") -> Path:
        """The path of an (optionally annotated) name such as `sub/x.png [output]`."""
        folder_type, bare = self.annotated(name, default)
        check_relative_name(bare)
        return safe_join(self.directory(folder_type), bare)

    def next_output_path(self, prefix: str, extension: str = "png") -> tuple[Path, str, str]:
        """next_counter_path in the output folder: (path, subfolder, file name)."""
        return next_counter_path(self.output_dir, prefix, extension)

    def ensure_dirs(self) -> None:
        """Creates input/, output/, temp/, user/ and the built-in model folders if missing."""
        for directory in (self.input_dir, self.output_dir, self.temp_dir, self.user_dir):
            directory.mkdir(parents=True, exist_ok=True)
        for names in MODEL_FOLDERS.values():
            (self.models_dir / names[0]).mkdir(parents=True, exist_ok=True)


def _stays_inside(path: Path, root: Path) -> bool:
    """True when `path`, links resolved, lies under `root` (itself resolved: the folder may be a link)."""
    real_root = root.resolve()
    real = path.resolve()
    return real == real_root or real_root in real.parents


def _walk_files(root: Path, wanted: set[str] | None, recursive: bool, follow_outside: bool) -> list[str]:
    if not root.is_dir():
        return []
    found = []
    for current, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        relative = Path(current).relative_to(root)
        for filename in filenames:
            if filename.startswith("."):
                continue
            if wanted is not None and Path(filename).suffix.lower() not in wanted:
                continue
            if not follow_outside and not _stays_inside(Path(current) / filename, root):
                continue
            found.append((relative / filename).as_posix())
    return found
