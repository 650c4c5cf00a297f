"""Animated saves and loading from the output folder: SaveAnimatedPNG, SaveAnimatedWEBP, LoadImageOutput.

Ids, inputs and defaults are ComfyUI's (comfy_extras/nodes_images.py, nodes.py). A batch becomes
one animated file `<prefix>_<counter:05>_.png` / `.webp` in the output folder, one frame per image,
each shown 1000 / fps milliseconds (whole ms). Metadata as ComfyUI writes it: APNG `comf` chunks
after the image data (`key\\0json`), WebP EXIF tags (0x0110 "prompt:json", then 0x010F, 0x010E, ...
"key:json" for each extra_pnginfo key). The ui is {"images": [file], "animated": [frames > 1]}.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from folders.layout import ANNOTATION_RE
from folders.output_names import expand_prefix, next_counter_path
from folders.safe_paths import UnsafePathError
from nodes.api.declare import Boolean, Combo, FileList, Float, Int, Out, Socket, String
from nodes.api.lazy import lazy_import
from nodes.library.image.image_io import IMAGE_EXTENSIONS, check_image_batch, to_pil
from nodes.library.image.load_save import LoadImage, metadata_enabled, runtime_folders
from nodes.library.image.save_paths import SavePathError
from nodes.library.output_files import SavesNamedFiles

PngImagePlugin = lazy_import("PIL.PngImagePlugin")

WEBP_METHODS = {"default": 4, "fastest": 0, "slowest": 6}
EXIF_MODEL, EXIF_MAKE = 0x0110, 0x010F


def frame_duration_ms(fps: float, node: str) -> int:
    """ComfyUI's frame time: int(1000 / fps) milliseconds."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0.01 <= fps <= 1000.0:
        raise ValueError(f"{node}: input 'fps' must be a number from 0.01 to 1000; got {fps!r}")
    return int(1000.0 / fps)


def animated_target(folders: Any, images: Any, prefix: Any, extension: str, node: str) -> tuple[Any, str, str]:
    """(path, subfolder, file name) of the next `<prefix>_NNNNN_.<extension>` in the output folder."""
    if not isinstance(prefix, str) or not prefix.strip():
        raise SavePathError(f"{node}: filename_prefix must be a non-empty string, got {prefix!r}")
    prefix = expand_prefix(prefix, width=int(images.shape[2]), height=int(images.shape[1]))
    try:
        return next_counter_path(folders.output_dir, prefix, extension)
    except UnsafePathError as exc:
        raise SavePathError(f"{node}: filename_prefix {prefix!r} is not allowed: {exc}") from None


def apng_metadata(prompt: Any, extra_pnginfo: Any) -> PngImagePlugin.PngInfo:
    """ComfyUI's APNG metadata: one `comf` chunk after the frames per entry, `key\\0json` in latin-1."""
    info = PngImagePlugin.PngInfo()
    entries = [("prompt", prompt)] if prompt else []
    if isinstance(extra_pnginfo, Mapping):
        entries += list(extra_pnginfo.items())
    for key, value in entries:
        info.add(b"comf", str(key).encode("latin-1", "strict") + b"\0"
                 + json.dumps(value).encode("latin-1", "strict"), after_idat=True)
    return info


def webp_exif(picture: Any, prompt: Any, extra_pnginfo: Any) -> Any:
    """ComfyUI's WebP metadata in the first frame's EXIF: Model = "prompt:json", then Make and below."""
    exif = picture.getexif()
    if prompt is not None:
        exif[EXIF_MODEL] = f"prompt:{json.dumps(prompt)}"
    if isinstance(extra_pnginfo, Mapping):
        for offset, (key, value) in enumerate(extra_pnginfo.items()):
            exif[EXIF_MAKE - offset] = f"{key}:{json.dumps(value)}"
    return exif


def saved_ui(subfolder: str, filename: str, frames: int) -> dict:
    return {"ui": {"images": [{"filename": filename, "subfolder": subfolder, "type": "output"}],
                   "animated": [frames > 1]}}


class SaveAnimatedPNG(SavesNamedFiles):
    node_id = "SaveAnimatedPNG"
    category = "image/animation"
    description = "Saves the batch as one animated PNG (APNG) in the output folder, one frame per image."
    output_node = True
    hidden = ("PROMPT", "EXTRA_PNGINFO")
    inputs = [
        Socket("IMAGE", "images"),
        String("filename_prefix", default="ComfyUI"),
        Float("fps", default=6.0, min=0.01, max=1000.0, step=0.01),
        Int("compress_level", default=4, min=0, max=9),
    ]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, images, filename_prefix: str = "ComfyUI", fps: float, compress_level: int,
            prompt: Any = None, extra_pnginfo: Any = None) -> dict:
        images = check_image_batch(images, cls.node_id)
        duration = frame_duration_ms(fps, cls.node_id)
        if isinstance(compress_level, bool) or compress_level not in range(10):
            raise ValueError(f"{cls.node_id}: input 'compress_level' must be an integer from 0 to 9; "
                             f"got {compress_level!r}")
        path, subfolder, filename = animated_target(runtime_folders(ctx, cls.node_id), images, filename_prefix,
                                                    "png", cls.node_id)
        frames = [to_pil(image) for image in images]
        metadata = apng_metadata(prompt, extra_pnginfo) if metadata_enabled(ctx) else None
        frames[0].save(path, format="PNG", pnginfo=metadata, compress_level=compress_level, save_all=True,
                       duration=duration, append_images=frames[1:])
        return saved_ui(subfolder, filename, len(frames))


class SaveAnimatedWEBP(SavesNamedFiles):
    node_id = "SaveAnimatedWEBP"
    category = "image/animation"
    description = ("Saves the batch as one animated WebP in the output folder; method is the encoder effort "
                   "(fastest 0, default 4, slowest 6).")
    output_node = True
    hidden = ("PROMPT", "EXTRA_PNGINFO")
    inputs = [
        Socket("IMAGE", "images"),
        String("filename_prefix", default="ComfyUI"),
        Float("fps", default=6.0, min=0.01, max=1000.0, step=0.01),
        Boolean("lossless", default=True),
        Int("quality", default=80, min=0, max=100),
        Combo("method", tuple(WEBP_METHODS)),
    ]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, images, filename_prefix: str = "ComfyUI", fps: float, lossless: bool, quality: int,
            method: str, prompt: Any = None, extra_pnginfo: Any = None) -> dict:
        images = check_image_batch(images, cls.node_id)
        duration = frame_duration_ms(fps, cls.node_id)
        if isinstance(quality, bool) or quality not in range(101):
            raise ValueError(f"{cls.node_id}: input 'quality' must be an integer from 0 to 100; got {quality!r}")
        if method not in WEBP_METHODS:
            raise ValueError(f"{cls.node_id}: input 'method' must be one of {', '.join(WEBP_METHODS)}; "
                             f"got {method!r}")
        path, subfolder, filename = animated_target(runtime_folders(ctx, cls.node_id), images, filename_prefix,
                                                    "webp", cls.node_id)
        frames = [to_pil(image) for image in images]
        if metadata_enabled(ctx):
            exif = webp_exif(frames[0], prompt, extra_pnginfo)
        else:
            exif = frames[0].getexif()
        frames[0].save(path, format="WEBP", save_all=True, duration=duration, append_images=frames[1:], exif=exif,
                       lossless=bool(lossless), quality=quality, method=WEBP_METHODS[method])
        return saved_ui(subfolder, filename, len(frames))


def in_output_folder(image: Any) -> Any:
    """A bare name means a file of the output folder (`x.png` -> `x.png [output]`); annotated names are kept."""
    if isinstance(image, str) and image.strip() and not ANNOTATION_RE.match(image):
        return f"{image} [output]"
    return image


class LoadImageOutput(LoadImage):
    node_id = "LoadImageOutput"
    display_name = "Load Image (from Outputs)"
    category = "image"
    description = ("Load an image from the output folder. When the refresh button is clicked, the node will update "
                   "the image list and automatically select the first image, allowing for easy iteration.")
    experimental = True
    inputs = [Combo("image", FileList("output", IMAGE_EXTENSIONS, recursive=False), image_upload=True,
                    extra={"image_folder": "output",
                           "remote": {"route": "/internal/files/output", "refresh_button": True,
                                      "control_after_refresh": "first"}})]
    outputs = [Out("IMAGE"), Out("MASK")]

    @classmethod
    def fingerprint(cls, ctx: Any, *, image: Any = None) -> str:
        return super().fingerprint(ctx, image=in_output_folder(image))

    @classmethod
    def validate(cls, ctx: Any, *, image: Any = None) -> Any:
        return super().validate(ctx, image=in_output_folder(image))

    @classmethod
    def run(cls, ctx: Any, *, image: str) -> tuple:
        return super().run(ctx, image=in_output_folder(image))


NODES = [SaveAnimatedWEBP, SaveAnimatedPNG, LoadImageOutput]
