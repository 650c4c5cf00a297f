"""Reading image files into IMAGE/MASK tensors and writing IMAGE tensors as PNG files.

Conventions (ComfyUI's): IMAGE is float32 [B, H, W, C] in 0..1, MASK is float32 [B, H, W]
where 1 marks the area to repaint, so a mask read from an alpha channel is 1 - alpha.

Input names come from the outside (a workflow, an HTTP client), so `resolve_input_image`
refuses anything that could leave the input/output/temp folders and reports a missing file
by name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from folders.safe_paths import UnsafePathError
from nodes.api.lazy import lazy_import

# Pixels need these; naming files, checking names and hashing files (validation, fingerprints) do not.
np = lazy_import("numpy")
torch = lazy_import("torch")
Image = lazy_import("PIL.Image")
ImageOps = lazy_import("PIL.ImageOps")
ImageSequence = lazy_import("PIL.ImageSequence")
PngImagePlugin = lazy_import("PIL.PngImagePlugin")

# Extensions listed by LoadImage's combo (ComfyUI filters the input folder by image content type).
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".jfif"})
# Formats whose extra frames are not part of the picture (stereo pairs): only the first is used.
SINGLE_FRAME_FORMATS = frozenset({"MPO"})
# Size of the all-zero mask given for a picture without alpha (ComfyUI's choice).
EMPTY_MASK_SIZE = 64


class ImageLoadError(ValueError):
    """An input image that cannot be found or read; the message names the file."""


def resolve_input_image(folders: Any, name: Any, node: str) -> Path:
    """The file behind a LoadImage value: `x.png`, `sub/x.png` or `x.png [output]` (or [temp]).

    Raises ImageLoadError for names that leave the folder (`..`, absolute, NUL, backslash,
    a symlink pointing outside) and for names with no file behind them.
    """
    if folders is None:
        raise ImageLoadError(f"{node}: no folders available (the runtime has no 'folders')")
    if not isinstance(name, str) or not name.strip():
        raise ImageLoadError(f"{node}: image must be a file name, got {name!r}")
    try:
        path = folders.annotated_path(name)
    except (UnsafePathError, KeyError) as exc:
        raise ImageLoadError(f"{node}: refused image name {name!r}: {exc}") from None
    if not path.is_file():
        folder_type, bare = folders.annotated(name)
        raise ImageLoadError(f"{node}: image {bare!r} was not found in the {folder_type} folder")
    return path


def input_image_problem(folders: Any, name: Any, node: str) -> str | None:
    """Why `name` is not a loadable input image (None when it is)."""
    try:
        resolve_input_image(folders, name, node)
    except ImageLoadError as exc:
        return str(exc)
    return None


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (LoadImage's change fingerprint)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_image(path: Path, node: str) -> Image.Image:
    """Opens an image file with Pillow; an unreadable file becomes an ImageLoadError naming it."""
    try:
        image = Image.open(path)
        image.load()
    except (Image.UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageLoadError(f"{node}: cannot read {path.name!r} as an image: {exc}") from None
    return image


def _scale_integer_picture(picture: Image.Image) -> Image.Image:
    """16/32-bit integer pictures (16-bit PNGs) divided by 255 as ComfyUI does, so 8-bit conversion keeps detail."""
    if picture.mode.startswith("I;16"):
        picture = picture.convert("I")
    if picture.mode == "I":
        picture = picture.point(lambda value: value * (1 / 255))
    return picture


def _frame_to_rgb_and_alpha(frame: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """One frame as float RGB [H, W, 3] and its alpha [H, W] (None without transparency)."""
    frame = _scale_integer_picture(ImageOps.exif_transpose(frame))
    rgb = np.asarray(frame.convert("RGB"), dtype=np.float32) / 255.0
    alpha = None
    if "A" in frame.getbands():
        alpha = np.asarray(frame.getchannel("A"), dtype=np.float32) / 255.0
    elif frame.mode == "P" and "transparency" in frame.info:
        alpha = np.asarray(frame.convert("RGBA").getchannel("A"), dtype=np.float32) / 255.0
    return rgb, alpha


def load_image_and_mask(path: Path, node: str = "LoadImage") -> tuple[torch.Tensor, torch.Tensor]:
    """IMAGE [B, H, W, 3] and MASK [B, H', W'] of an image file.

    Every frame with the first frame's size becomes one batch entry (others are skipped);
    EXIF orientation is applied. The mask is 1 - alpha; frames without alpha get zeros, of
    the picture's size when another frame has alpha, else ComfyUI's 64x64.
    """
    picture = open_image(path, node)
    images: list[np.ndarray] = []
    alphas: list[np.ndarray | None] = []
    try:
        for frame in ImageSequence.Iterator(picture):
            rgb, alpha = _frame_to_rgb_and_alpha(frame)
            if images and rgb.shape != images[0].shape:
                continue
            images.append(rgb)
            alphas.append(alpha)
            if picture.format in SINGLE_FRAME_FORMATS:
                break
    except (OSError, ValueError) as exc:
        raise ImageLoadError(f"{node}: cannot read the frames of {path.name!r}: {exc}") from None
    if not images:
        raise ImageLoadError(f"{node}: {path.name!r} contains no image frames")
    height, width = images[0].shape[:2]
    any_alpha = any(a is not None for a in alphas)
    masks = []
    for alpha in alphas:
        if alpha is not None:
            masks.append(1.0 - alpha)
        elif any_alpha:
            masks.append(np.zeros((height, width), dtype=np.float32))
        else:
            masks.append(np.zeros((EMPTY_MASK_SIZE, EMPTY_MASK_SIZE), dtype=np.float32))
    return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(masks))


MASK_CHANNELS = ("alpha", "red", "green", "blue")


def load_mask_channel(path: Path, channel: str, node: str = "LoadImageMask") -> torch.Tensor:
    """MASK [1, H, W] from one channel of an image file; alpha is inverted (1 - alpha).

    As in ComfyUI the picture is converted to RGBA first, so an opaque file's alpha mask is zeros.
    """
    if channel not in MASK_CHANNELS:
        raise ImageLoadError(f"{node}: unknown channel {channel!r}; expected one of {list(MASK_CHANNELS)}")
    picture = ImageOps.exif_transpose(open_image(path, node))
    if picture.getbands() != ("R", "G", "B", "A"):
        picture = _scale_integer_picture(picture).convert("RGBA")
    band = channel[0].upper()
    values = np.asarray(picture.getchannel(band), dtype=np.float32) / 255.0
    if band == "A":
        values = 1.0 - values
    return torch.from_numpy(np.ascontiguousarray(values)).unsqueeze(0)


# ---------------------------------------------------------------------------- writing


def check_image_batch(images: Any, node: str) -> torch.Tensor:
    """`images` if it is an IMAGE batch [B, H, W, C] with 1, 3 or 4 channels, else a clear error."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{node}: images must be an IMAGE tensor [batch, height, width, channels], "
                        f"got {type(images).__name__}")
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or images.shape[0] == 0:
        raise ValueError(f"{node}: images must be an IMAGE tensor [batch, height, width, channels] with 1, 3 or 4 "
                         f"channels and at least one image, got shape {tuple(images.shape)}")
    return images


def to_pil(image: torch.Tensor) -> Image.Image:
    """One image [H, W, C] (0..1) as a Pillow image; values are clipped and truncated to 8 bits."""
    values = torch.nan_to_num(image.detach().float().cpu(), nan=0.0).numpy() * 255.0
    pixels = np.clip(values, 0, 255).astype(np.uint8)
    if pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    return Image.fromarray(np.ascontiguousarray(pixels))  # uint8 [H, W], [H, W, 3], [H, W, 4]: L, RGB, RGBA


def png_metadata(prompt: Any, extra_pnginfo: Any) -> PngImagePlugin.PngInfo:
    """ComfyUI's PNG text chunks: `prompt` (the API prompt) and one per extra_pnginfo key, as JSON."""
    info = PngImagePlugin.PngInfo()
    if prompt is not None:
        info.add_text("prompt", json.dumps(prompt))
    if isinstance(extra_pnginfo, Mapping):
        for key, value in extra_pnginfo.items():
            info.add_text(str(key), json.dumps(value))
    return info


def write_png(image: torch.Tensor, path: Path, metadata: PngImagePlugin.PngInfo | None, compress_level: int) -> None:
    """Writes one image [H, W, C] as a PNG file."""
    to_pil(image).save(path, format="PNG", pnginfo=metadata, compress_level=compress_level)
