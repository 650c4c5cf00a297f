"""Decoding untrusted images with a pixel-count limit, and re-encoding for /view."""

from __future__ import annotations

import io
import re
import warnings

from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
_OBJECT_REPR = re.compile(r"<[^<>]*>")
_QUOTED_PATH = re.compile(r"""(['"])[^'"]*[/\\][^'"]*\1""")


class ImageRefusedError(ValueError):
    """Bytes that are not a usable image (not an image, truncated, or too many pixels)."""


def open_image(source, max_pixels: int) -> Image.Image:
    """Open and fully decode an image from bytes or a path, refusing more than `max_pixels`
    before any pixel is decoded."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream)
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRefusedError(f"The image is {width}x{height} pixels; the limit is {max_pixels} pixels.")
            image.load()
    except ImageRefusedError:
        raise
    except UnidentifiedImageError:
        raise ImageRefusedError("The file is not an image in a format this server reads "
                                f"({', '.join(ext[1:] for ext in IMAGE_EXTENSIONS)}).") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefusedError(f"The image has too many pixels (the limit is {max_pixels}): "
                                f"{plain_reason(exc)}.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        detail = plain_reason(exc)
        raise ImageRefusedError("The image is truncated or corrupt" + (f" ({detail})." if detail else ".")) from None
    return image


def plain_reason(exc: BaseException) -> str:
    """The decoder's own words without what it should not show: object reprs and file paths."""
    text = _OBJECT_REPR.sub("", str(exc))
    text = _QUOTED_PATH.sub("", text)
    return " ".join(text.split())[:200].rstrip(" :")


def encode(image: Image.Image, fmt: str, *, quality: int = 90) -> bytes:
    """Encode as 'webp', 'jpeg' or 'png'."""
    out = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(out, "JPEG", quality=quality)
    elif fmt == "webp":
        image.save(out, "WEBP", quality=quality)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def preview_bytes(image: Image.Image, preview: str | None, channel: str | None) -> tuple[bytes, str]:
    """ComfyUI's /view re-encoding: `preview=webp;90|jpeg;80`, `channel=rgb|a` -> (bytes, mime)."""
    if channel == "rgb":
        image = image.convert("RGB")
    elif channel == "a":
        alpha = image.convert("RGBA").getchannel("A")
        black = Image.new("RGBA", image.size, (0, 0, 0, 255))
        black.putalpha(alpha)
        image = black
    if preview:
        fmt, _, quality = preview.partition(";")
        fmt = fmt.lower()
        if fmt not in ("webp", "jpeg") or (channel and "a" in channel and channel != "rgb"):
            fmt = "webp"
        try:
            q = max(1, min(100, int(quality or 90)))
        except ValueError:
            q = 90
        return encode(image, fmt, quality=q), f"image/{fmt}"
    return encode(image, "png"), "image/png"
