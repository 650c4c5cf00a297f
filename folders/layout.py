"""The folder layout (models, input, output, temp, user) and ComfyUI's folder flags.

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

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent

MODEL_EXTENSIONS = frozenset({".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"})

# Folder key -> directory names under <base>/models (the first one is where new files go).
MODEL_FOLDERS: dict[str, tuple[str, ...]] = {
    "checkpoints": ("checkpoints",),
    "configs": ("configs",),
    "loras": ("loras",),
    "vae": ("vae",),
    "text_encoders": ("text_encoders", "clip"),
    "diffusion_models": ("unet", "diffusion_models"),
    "clip_vision": ("clip_vision",),
    "style_models": ("style_models",),
    "embeddings": ("embeddings",),
    "diffusers": ("diffusers",),
    "vae_approx": ("vae_approx",),
    "controlnet": ("controlnet", "t2i_adapter"),
    "gligen": ("gligen",),
    "upscale_models": ("upscale_models",),
    "latent_upscale_models": ("latent_upscale_models",),
    "hypernetworks": ("hypernetworks",),
    "photomaker": ("photomaker",),
    "classifiers": ("classifiers",),
    "model_patches": ("model_patches",),
    "audio_encoders": ("audio_encoders",),
}
# ComfyUI's legacy key names.
LEGACY_KEYS = {"clip": "text_encoders", "unet": "diffusion_models"}
# Keys whose files are not model weights.
FOLDER_EXTENSIONS: dict[str, frozenset[str] | None] = {
    "configs": frozenset({".yaml"}),
    "custom_nodes": None,
    "diffusers": None,
}
DIRECTORY_KEYS = ("input", "output", "temp", "user")
ANNOTATION_RE = re.compile(r"^(?P<name>.*?)\s*\[(?P<type>input|output|temp)\]$")
_COUNTER_RE = re.compile(r"^(?P<digits>\d+)_")


class UnsafePathError(ValueError):
    """A name that would leave its folder (traversal, absolute path, NUL, backslash)."""


class FolderConfigError(ValueError):
    """A bad extra_model_paths YAML file; the message names the file (and line)."""


# ---------------------------------------------------------------------------- safe paths


def check_relative_name(name: object, what: str = "file name") -> str:
    """Returns `name` if it is a safe relative posix path, else raises UnsafePathError."""
    if not isinstance(name, str) or not name:
        raise UnsafePathError(f"{what} must be a non-empty string, got {name!r}")
    if "\x00" in name:
        raise UnsafePathError(f"{what} {name!r} contains a NUL character")
    if "\\" in name:
        raise UnsafePathError(f"{what} {name!r} contains a backslash; use '/' between folders")
    if name.startswith("/") or PurePosixPath(name).is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise UnsafePathError(f"{what} {name!r} is an absolute path; only names inside the folder are allowed")
    if ".." in PurePosixPath(name).parts:
        raise UnsafePathError(f"{what} {name!r} contains '..'; only names inside the folder are allowed")
    return name


def safe_join(root: str | os.PathLike, *parts: str) -> Path:
    """Joins `parts` under `root` and guarantees the result (symlinks resolved) stays inside root."""
    root_path = Path(root).resolve()
    for part in parts:
        if not isinstance(part, str):
            raise UnsafePathError(f"path part must be a string, got {part!r}")
        if "\x00" in part:
            raise UnsafePathError(f"path part {part!r} contains a NUL character")
    candidate = root_path.joinpath(*[p for p in parts if p]).resolve()
    if candidate != root_path and root_path not in candidate.parents:
        shown = "/".join(parts)
        raise UnsafePathError(f"{shown!r} points outside the folder {root_path}")
    return candidate


# ---------------------------------------------------------------------------- extra_model_paths.yaml


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


# ---------------------------------------------------------------------------- flags


def add_folder_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ComfyUI's folder flags to `parser`."""
    group = parser.add_argument_group("folders")
    group.add_argument("--base-directory", metavar="DIR", help="root of models/, input/, output/, temp/, user/")
    group.add_argument("--input-directory", metavar="DIR", help="where uploads and input images live")
    group.add_argument("--output-directory", metavar="DIR", help="where generated files are written")
    group.add_argument("--temp-directory", metavar="DIR", help="parent of the temp/ folder for previews")
    group.add_argument("--user-directory", metavar="DIR", help="per-user settings and saved workflows")
    group.add_argument(
        "--extra-model-paths-config",
        metavar="PATH",
        nargs="+",
        action="append",
        help="extra_model_paths.yaml file(s) adding model search paths (repeatable)",
    )


# ---------------------------------------------------------------------------- the layout


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
            names.update(_walk_files(root, wanted, recursive))
        return sorted(names)

    def resolve(self, key: str, name: str) -> Path:
        """The file `name` (a relative posix path as listed by list_files) in the folders of `key`.

        Raises UnsafePathError for names that could leave the folder ("..", absolute, NUL,
        backslash) and a FileNotFoundError naming the folder when no folder holds the file.
        Symlinks inside a folder are followed, as list_files does.
        """
        check_relative_name(name, f"{key} file name")
        roots = self.model_paths(key)
        for root in roots:
            # The name is checked lexically, so symlinks an administrator placed in a model
            # folder (a shared model library, say) work as in ComfyUI and list_files.
            candidate = Path(root) / PurePosixPath(name)
            if candidate.is_file():
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


def _walk_files(root: Path, wanted: set[str] | None, recursive: bool) -> list[str]:
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
            found.append((relative / filename).as_posix())
    return found


# ---------------------------------------------------------------------------- counter names


def next_counter_path(output_dir: str | os.PathLike, prefix: str, extension: str = "png") -> tuple[Path, str, str]:
    """ComfyUI's save naming: `<prefix>_00001_.<ext>`, counter = highest existing + 1.

    `prefix` may hold a subfolder ("portraits/me"); it is created. Returns
    (full path, subfolder as posix ("" for none), file name). A prefix that would leave
    the output folder raises UnsafePathError.
    """
    if not isinstance(prefix, str) or not prefix.strip():
        raise UnsafePathError(f"filename prefix must be a non-empty string, got {prefix!r}")
    check_relative_name(prefix, "filename prefix")
    pure = PurePosixPath(prefix)
    subfolder = "" if str(pure.parent) == "." else pure.parent.as_posix()
    stem = pure.name
    if not stem or stem.strip(".") == "":
        raise UnsafePathError(f"filename prefix {prefix!r} has no file name part")
    folder = safe_join(output_dir, subfolder) if subfolder else Path(output_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    highest = 0
    lowered = stem.lower()
    for entry in os.listdir(folder):
        if not entry.lower().startswith(lowered + "_"):
            continue
        match = _COUNTER_RE.match(entry[len(stem) + 1:])
        if match:
            highest = max(highest, int(match.group("digits")))
    extension = extension.lstrip(".")
    filename = f"{stem}_{highest + 1:05}_.{extension}"
    return folder / filename, subfolder, filename
