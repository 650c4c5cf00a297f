"""SaveLatent and LoadLatent: ComfyUI's `.latent` files (nodes.py, same ids, inputs and defaults).

A `.latent` file is a safetensors file holding the samples as "latent_tensor" and an empty
"latent_format_version_0" tensor that marks the current format. Files without the marker
were written by old ComfyUI versions, which stored the samples multiplied by 0.18215: they
are divided by it on loading, as ComfyUI does. Only the samples are stored (noise_mask and
batch_index are not), and a file's metadata holds the prompt and the extra_pnginfo entries
as JSON text unless the runtime disables metadata.

SaveLatent names files like SaveImage (`latents/ComfyUI_00001_.latent` in the output folder,
folders/output_names.py). LoadLatent lists the input folder's `.latent` files, accepts
ComfyUI's `x.latent [output]` names, and its fingerprint is the file's sha256, so a changed
file re-runs it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from folders.output_names import expand_prefix, next_counter_path
from folders.safe_paths import UnsafePathError
from nodes.api.declare import Combo, FileList, Node, Out, Socket, String
from nodes.api.lazy import lazy_import
from nodes.api.runtime import runtime_of
from nodes.library.image.image_io import file_sha256
from nodes.library.latent.latent_math import require_samples
from nodes.library.output_files import SavesNamedFiles

torch = lazy_import("torch")
safetensors_torch = lazy_import("safetensors.torch")

LATENT_EXTENSION = ".latent"
TENSOR_KEY = "latent_tensor"
FORMAT_MARKER = "latent_format_version_0"
# Old files stored samples x 0.18215 (the SD1 VAE scale); they are divided by it on loading.
OLD_FORMAT_SCALE = 0.18215


class LatentFileError(ValueError):
    """A .latent name that is unsafe, missing or unreadable; the message names the node and file."""


def latent_file_metadata(prompt: Any, extra_pnginfo: Any) -> dict[str, str]:
    """ComfyUI's .latent metadata: "prompt" (JSON, "" without one) and one JSON entry per extra_pnginfo key."""
    metadata = {"prompt": json.dumps(prompt) if prompt is not None else ""}
    if isinstance(extra_pnginfo, Mapping):
        for key, value in extra_pnginfo.items():
            metadata[str(key)] = json.dumps(value)
    return metadata


def write_latent_file(samples: torch.Tensor, path: Path, metadata: dict[str, str] | None) -> None:
    """Writes `samples` in the current .latent format."""
    tensors = {TENSOR_KEY: samples.detach().cpu().contiguous(), FORMAT_MARKER: torch.tensor([])}
    safetensors_torch.save_file(tensors, str(path), metadata=metadata)


def read_latent_file(path: Path, node: str = "LoadLatent") -> torch.Tensor:
    """The float32 samples of a .latent file (old-format files divided by 0.18215)."""
    try:
        tensors = safetensors_torch.load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise LatentFileError(f"{node}: {path.name!r} is not a readable .latent file: {exc}") from None
    if TENSOR_KEY not in tensors:
        raise LatentFileError(f"{node}: {path.name!r} holds no {TENSOR_KEY!r}; it is not a .latent file")
    samples = tensors[TENSOR_KEY].float()
    if FORMAT_MARKER not in tensors:
        samples = samples * (1.0 / OLD_FORMAT_SCALE)
    return samples


def resolve_latent_file(folders: Any, name: Any, node: str) -> Path:
    """The file behind a LoadLatent value (`x.latent`, `sub/x.latent` or `x.latent [output]`)."""
    if not isinstance(name, str) or not name.strip():
        raise LatentFileError(f"{node}: latent must be a file name, got {name!r}")
    try:
        path = folders.annotated_path(name)
    except (UnsafePathError, KeyError) as exc:
        raise LatentFileError(f"{node}: refused latent name {name!r}: {exc}") from None
    if not path.is_file():
        folder_type, bare = folders.annotated(name)
        raise LatentFileError(f"{node}: Invalid latent file: {bare!r} was not found in the {folder_type} folder")
    return path


class SaveLatent(SavesNamedFiles):
    node_id = "SaveLatent"
    display_name = "SaveLatent"
    category = "_for_testing"
    description = "Saves the latent's samples as a .latent file in the output folder (LoadLatent reads it back)."
    output_node = True
    hidden = ("PROMPT", "EXTRA_PNGINFO")
    inputs = [Socket("LATENT", "samples"), String("filename_prefix", default="latents/ComfyUI")]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, samples: dict, filename_prefix: str = "latents/ComfyUI", prompt: Any = None,
            extra_pnginfo: Any = None) -> dict:
        runtime = runtime_of(ctx, cls.node_id)
        tensor = require_samples(samples, cls.node_id)
        if not isinstance(filename_prefix, str) or not filename_prefix.strip():
            raise LatentFileError(f"{cls.node_id}: filename_prefix must be a non-empty string, got {filename_prefix!r}")
        try:
            path, subfolder, filename = next_counter_path(runtime.folders.output_dir,
                                                          expand_prefix(filename_prefix, 0, 0), "latent")
        except UnsafePathError as exc:
            raise LatentFileError(f"{cls.node_id}: filename_prefix {filename_prefix!r} is not allowed: {exc}") from None
        metadata = None if runtime.disable_metadata else latent_file_metadata(prompt, extra_pnginfo)
        write_latent_file(tensor, path, metadata)
        return {"ui": {"latents": [{"filename": filename, "subfolder": subfolder, "type": "output"}]}}


class LoadLatent(Node):
    node_id = "LoadLatent"
    display_name = "LoadLatent"
    category = "_for_testing"
    description = ("Loads a .latent file from the input folder (files of old ComfyUI versions are divided by "
                   "0.18215, as ComfyUI does).")
    inputs = [Combo("latent", FileList("input", frozenset({LATENT_EXTENSION}), recursive=False))]
    outputs = [Out("LATENT")]

    @classmethod
    def run(cls, ctx: Any, *, latent: str) -> tuple:
        path = resolve_latent_file(runtime_of(ctx, cls.node_id).folders, latent, cls.node_id)
        return ({"samples": read_latent_file(path, cls.node_id)},)

    @classmethod
    def fingerprint(cls, ctx: Any, *, latent: Any = None) -> str:
        return file_sha256(resolve_latent_file(runtime_of(ctx, cls.node_id).folders, latent, cls.node_id))

    @classmethod
    def validate(cls, ctx: Any, *, latent: Any = None) -> Any:
        if latent is None or ctx.runtime is None:
            return True
        try:
            resolve_latent_file(ctx.runtime.folders, latent, cls.node_id)
        except LatentFileError as exc:
            return str(exc)
        return True


NODES = [SaveLatent, LoadLatent]
