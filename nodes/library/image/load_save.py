"""IMAGE nodes that touch files: LoadImage, LoadImageMask, SaveImage, PreviewImage.

Ids, inputs, defaults and output order are ComfyUI's (nodes.py); the pixel transforms
live in nodes/library/image/transform.py and are registered from here too (see NODES).

Files are reached only through `ctx.runtime.folders` (folders/layout.py). Image names come
from workflows and HTTP clients: names that would leave the input/output/temp folders
are refused with a message, and a missing file is reported by name.

`fingerprint` and `validate` of the loaders read the file through `ctx.runtime`: with a
runtime they hash and check the file; without one (`ctx.runtime` is None) the fingerprint
raises, which makes the node re-run every time instead of trusting a stale cache, and
validation checks only that the name is safe.
"""

from __future__ import annotations

from typing import Any

from folders.layout import Folders
from folders.safe_paths import UnsafePathError, check_relative_name
from nodes.api.declare import Combo, FileList, Node, Out, Socket, String
from nodes.api.runtime import runtime_of
from nodes.library.image.image_io import (
    IMAGE_EXTENSIONS,
    MASK_CHANNELS,
    file_sha256,
    input_image_problem,
    load_image_and_mask,
    load_mask_channel,
    resolve_input_image,
)
from nodes.library.image.save_paths import preview_suffix, save_image_batch
from nodes.library.image.transform import TRANSFORM_NODES
from nodes.library.output_files import SavesNamedFiles

SAVE_COMPRESS_LEVEL = 4
PREVIEW_COMPRESS_LEVEL = 1


def runtime_folders(ctx: Any, node: str) -> Folders:
    """The folders of the node's runtime, or a clear error when the context has none."""
    return runtime_of(ctx, node).folders


def metadata_enabled(ctx: Any) -> bool:
    """False when the runtime says `disable_metadata` (ComfyUI's --disable-metadata)."""
    return ctx.runtime is None or not ctx.runtime.disable_metadata


def image_name_problem(image: Any, runtime: Any, node: str) -> str | None:
    """Why `image` cannot be loaded (None when it can); only the name's safety without a runtime.

    A linked input arrives as None at validation time: nothing to check yet.
    """
    if image is None:
        return None
    folders = getattr(runtime, "folders", None)
    if folders is not None:
        return input_image_problem(folders, image, node)
    if not isinstance(image, str) or not image.strip():
        return f"{node}: image must be a file name, got {image!r}"
    try:
        check_relative_name(Folders.annotated(image)[1], "image name")
    except UnsafePathError as exc:
        return f"{node}: refused image name {image!r}: {exc}"
    return None


def image_fingerprint(image: Any, runtime: Any, node: str) -> str:
    """sha256 of the image file (ComfyUI's IS_CHANGED for LoadImage)."""
    folders = getattr(runtime, "folders", None)
    if folders is None:
        raise RuntimeError(f"{node}: no runtime folders to read {image!r}; the node will run every time")
    return file_sha256(resolve_input_image(folders, image, node))


class _InputImageNode(Node):
    """What LoadImage and LoadImageMask share: the file's content hash as fingerprint (a changed
    file re-runs the node), and a check at validation that the name is safe and the file exists."""

    @classmethod
    def fingerprint(cls, ctx: Any, *, image: Any = None) -> str:
        return image_fingerprint(image, ctx.runtime, cls.node_id)

    @classmethod
    def validate(cls, ctx: Any, *, image: Any = None) -> Any:
        return image_name_problem(image, ctx.runtime, cls.node_id) or True


PASTED_SUBFOLDER = "pasted"


class InputImagesAndPasted(FileList):
    """The files at the top of input/ (as ComfyUI lists them) and then those of input/pasted/, where
    the editor uploads pasted images as ComfyUI's does ("pasted/image.png"), so a pasted image is a
    choice of the list rather than a value not in it."""

    def resolve(self, runtime: Any) -> list[str]:
        top = super().resolve(runtime)
        folders = getattr(runtime, "folders", None)
        everything = [] if folders is None else folders.list_files(self.key, self.extensions, recursive=True)
        pasted = [name for name in everything if name.startswith(PASTED_SUBFOLDER + "/") and name.count("/") == 1]
        return [*top, *(name for name in pasted if name not in top)]


class LoadImage(_InputImageNode):
    node_id = "LoadImage"
    display_name = "Load Image"
    category = "image"
    description = ("Loads an image from the input folder (also `sub/x.png` or `x.png [output]`); MASK = 1 - alpha, "
                   "64x64 zeros without alpha. Frames of one size become a batch.")
    inputs = [Combo("image", InputImagesAndPasted("input", IMAGE_EXTENSIONS, recursive=False), image_upload=True)]
    outputs = [Out("IMAGE"), Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, image: str) -> tuple:
        path = resolve_input_image(runtime_folders(ctx, cls.node_id), image, cls.node_id)
        return load_image_and_mask(path, cls.node_id)


class LoadImageMask(_InputImageNode):
    node_id = "LoadImageMask"
    display_name = "Load Image (as Mask)"
    category = "mask"
    description = "One channel of an image in the input folder as a MASK; the alpha channel is inverted."
    inputs = [Combo("image", InputImagesAndPasted("input", None, recursive=False), image_upload=True),
              Combo("channel", MASK_CHANNELS)]
    outputs = [Out("MASK")]

    @classmethod
    def run(cls, ctx: Any, *, image: str, channel: str) -> tuple:
        path = resolve_input_image(runtime_folders(ctx, cls.node_id), image, cls.node_id)
        return (load_mask_channel(path, channel, cls.node_id),)


class SaveImage(SavesNamedFiles):
    node_id = "SaveImage"
    display_name = "Save Image"
    category = "image"
    description = "Saves the input images to your output directory."
    output_node = True
    hidden = ("PROMPT", "EXTRA_PNGINFO")
    inputs = [
        Socket("IMAGE", "images", tooltip="The images to save."),
        String("filename_prefix", default="ComfyUI",
               tooltip="The prefix for the file to save. This may include formatting information such as "
                       "%date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes."),
    ]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, images, filename_prefix: str = "ComfyUI", prompt: Any = None,
            extra_pnginfo: Any = None) -> dict:
        folders = runtime_folders(ctx, cls.node_id)
        results = save_image_batch(
            images, folders.output_dir, filename_prefix, folder_type="output", prompt=prompt,
            extra_pnginfo=extra_pnginfo, compress_level=SAVE_COMPRESS_LEVEL, metadata=metadata_enabled(ctx),
            node=cls.node_id)
        return {"ui": {"images": results}}


class PreviewImage(Node):
    node_id = "PreviewImage"
    display_name = "Preview Image"
    category = "image"
    description = "Shows the images in the editor; they are written to the temp folder."
    output_node = True
    hidden = ("PROMPT", "EXTRA_PNGINFO")
    inputs = [Socket("IMAGE", "images")]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, images, prompt: Any = None, extra_pnginfo: Any = None) -> dict:
        folders = runtime_folders(ctx, cls.node_id)
        results = save_image_batch(
            images, folders.temp_dir, "ComfyUI" + preview_suffix(), folder_type="temp", prompt=prompt,
            extra_pnginfo=extra_pnginfo, compress_level=PREVIEW_COMPRESS_LEVEL, metadata=metadata_enabled(ctx),
            node=cls.node_id)
        return {"ui": {"images": results}}


NODES = [LoadImage, LoadImageMask, SaveImage, PreviewImage, *TRANSFORM_NODES]
