"""`comfy_api.latest.ui`: what a V3 node shows in the editor, the `ui` part of `io.NodeOutput`.

Each ui object's `as_dict()` is ComfyUI's ui dict (`{"text": ("...",)}`, `{"images": [...],
"animated": (False,)}`). PreviewImage and PreviewMask write their PNGs to the temp folder when
they are made, as ComfyUI does, through `folder_paths` (bound to latentgraph's folders before packs
load), with the prompt and extra_pnginfo of `cls.hidden` as PNG text when a node class is given.
PIL and numpy are imported only when an image is saved.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from nodes.compat import folder_paths
from nodes.compat.comfy_api.latest._types import FolderType

__all__ = ["ImageSaveHelper", "PreviewImage", "PreviewMask", "PreviewText", "SavedImages", "SavedResult"]


class _UIOutput:
    """Base of the ui objects: `as_dict()` is the ui dict the executor records."""

    def as_dict(self) -> dict[str, Any]:
        raise NotImplementedError


class SavedResult(dict):
    """One saved file as the editor fetches it: {"filename", "subfolder", "type"}."""

    def __init__(self, filename: str, subfolder: str, type: FolderType | str) -> None:
        super().__init__(filename=filename, subfolder=subfolder, type=FolderType(type).value)

    @property
    def filename(self) -> str:
        return self["filename"]

    def as_dict(self) -> dict[str, str]:
        return dict(self)


class SavedImages(_UIOutput):
    def __init__(self, results: list[SavedResult], is_animated: bool = False) -> None:
        self.results = list(results)
        self.is_animated = is_animated

    def as_dict(self) -> dict[str, Any]:
        return {"images": [dict(r) for r in self.results], "animated": (self.is_animated,)}


class ImageSaveHelper:
    """Writes an image batch [B, H, W, C] (values 0..1) as PNG files."""

    @staticmethod
    def save_images(images: Any, filename_prefix: str, folder_type: FolderType | str, cls: Any = None,
                    compress_level: int = 4) -> list[SavedResult]:
        import numpy as np
        from PIL import Image, PngImagePlugin

        folder_type = FolderType(folder_type)
        directory = folder_paths.get_temp_directory() if folder_type is FolderType.temp \
            else folder_paths.get_output_directory()
        batch = _as_batch(images)
        height, width = batch.shape[1], batch.shape[2]
        folder, stem, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, directory, width,
                                                                               height)
        info = _png_info(PngImagePlugin, getattr(cls, "hidden", None))
        results = []
        for index, image in enumerate(batch):
            pixels = np.clip(image * 255.0, 0, 255).astype(np.uint8)
            filename = f"{stem}_{counter + index:05}_.png"
            Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
                Path(folder) / filename, format="PNG", pnginfo=info, compress_level=compress_level)
            results.append(SavedResult(filename, subfolder, folder_type))
        return results


class PreviewImage(_UIOutput):
    """Shows `image` (a batch [B, H, W, C]) in the editor; written to the temp folder now."""

    def __init__(self, image: Any, animated: bool = False, cls: Any = None, **_: Any) -> None:
        prefix = "ComfyUI_temp_" + "".join(random.choice("abcdefghijklmnopqrstupvxyz") for _ in range(5))
        self.values = ImageSaveHelper.save_images(image, prefix, FolderType.temp, cls, compress_level=1)
        self.animated = animated

    def as_dict(self) -> dict[str, Any]:
        return {"images": [dict(v) for v in self.values], "animated": (self.animated,)}


class PreviewMask(PreviewImage):
    """Shows a mask batch [B, H, W] as grey images."""

    def __init__(self, mask: Any, animated: bool = False, cls: Any = None, **kwargs: Any) -> None:
        batch = _as_batch(mask)
        if batch.ndim == 3:
            batch = batch[..., None]
        super().__init__(batch.repeat(3, axis=-1) if batch.shape[-1] == 1 else batch, animated, cls, **kwargs)


class PreviewText(_UIOutput):
    def __init__(self, value: str, **_: Any) -> None:
        self.value = value

    def as_dict(self) -> dict[str, Any]:
        return {"text": (self.value,)}


def _as_batch(images: Any) -> Any:
    """A numpy float array of a torch tensor or array, with a batch axis for a single [H, W, C] image."""
    import numpy as np

    if hasattr(images, "detach"):
        images = images.detach().float().cpu().numpy()
    batch = np.asarray(images, dtype=np.float32)
    if batch.ndim not in (3, 4):
        raise ValueError(f"ui preview: expected an image batch [B, H, W, C] or a mask batch [B, H, W], "
                         f"got shape {tuple(batch.shape)}")
    return batch


def _png_info(png_module: Any, hidden: Any) -> Any:
    """ComfyUI's PNG text chunks from the node's hidden prompt and extra_pnginfo (None without any)."""
    prompt = getattr(hidden, "prompt", None)
    extra = getattr(hidden, "extra_pnginfo", None)
    if prompt is None and not isinstance(extra, dict):
        return None
    info = png_module.PngInfo()
    if prompt is not None:
        info.add_text("prompt", json.dumps(prompt))
    for key, value in (extra or {}).items():
        info.add_text(str(key), json.dumps(value))
    return info
