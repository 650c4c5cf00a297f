"""Saving IMAGE batches the way ComfyUI's SaveImage and PreviewImage do.

File names are `<prefix>_<counter:05>_.png` in the output (or temp) folder, the counter
being one more than the highest already used for that prefix, and growing by one per
image of the batch. The prefix may hold a subfolder (`portraits/me`) and the variables
%width% %height% %year% %month% %day% %hour% %minute% %second% (replaced once per batch)
and %batch_num% (replaced per image). A prefix that would leave the folder is refused.

One difference from ComfyUI: with %batch_num% ComfyUI looks for the counter under the
unreplaced name, finds nothing and overwrites earlier files; here the counter is one more
than the highest used by any of the batch's names, so nothing is overwritten.
"""

from __future__ import annotations

import random
from pathlib import Path, PurePosixPath
from typing import Any

from folders.output_names import expand_prefix, next_counter_path
from folders.safe_paths import UnsafePathError
from nodes.library.image.image_io import check_image_batch, png_metadata, write_png

BATCH_NUM = "%batch_num%"
# ComfyUI's alphabet for preview names (its "w" is a second "p"; kept for identical odds).
PREVIEW_LETTERS = "abcdefghijklmnopqrstupvxyz"


class SavePathError(ValueError):
    """A filename prefix that is empty or would leave the output folder."""


def preview_suffix(rng: random.Random | None = None) -> str:
    """ComfyUI's PreviewImage prefix addition: "_temp_" and five random letters."""
    rng = rng or random.Random()
    return "_temp_" + "".join(rng.choice(PREVIEW_LETTERS) for _ in range(5))


def _next_counter(folder: Path, prefix: str, node: str) -> tuple[int, str]:
    """(first free counter for `prefix` in `folder`, subfolder), refusing unsafe prefixes."""
    try:
        _, subfolder, filename = next_counter_path(folder, prefix, "png")
    except UnsafePathError as exc:
        raise SavePathError(f"{node}: filename_prefix {prefix!r} is not allowed: {exc}") from None
    stem = PurePosixPath(prefix).name
    return int(filename[len(stem) + 1:-len("_.png")]), subfolder


def save_image_batch(images: Any, folder: Path, prefix: Any, *, folder_type: str, prompt: Any = None,
                     extra_pnginfo: Any = None, compress_level: int = 4, metadata: bool = True,
                     node: str = "SaveImage") -> list[dict[str, str]]:
    """Writes every image of `images` [B, H, W, C] under `folder`; returns ComfyUI's ui entries.

    Each entry is {"filename", "subfolder", "type": folder_type}.
    """
    images = check_image_batch(images, node)
    if not isinstance(prefix, str) or not prefix.strip():
        raise SavePathError(f"{node}: filename_prefix must be a non-empty string, got {prefix!r}")
    prefix = expand_prefix(prefix, width=int(images.shape[2]), height=int(images.shape[1]))
    per_image = [prefix.replace(BATCH_NUM, str(index)) for index in range(images.shape[0])]
    subfolders: dict[str, str] = {}
    counter = 0
    for name in dict.fromkeys(per_image):
        first_free, subfolders[name] = _next_counter(folder, name, node)
        counter = max(counter, first_free)
    info = png_metadata(prompt, extra_pnginfo) if metadata else None
    root = Path(folder).resolve()
    results = []
    for index, image in enumerate(images):
        name = per_image[index]
        subfolder = subfolders[name]
        filename = f"{PurePosixPath(name).name}_{counter + index:05}_.png"
        write_png(image, (root / subfolder if subfolder else root) / filename, info, compress_level)
        results.append({"filename": filename, "subfolder": subfolder, "type": folder_type})
    return results
