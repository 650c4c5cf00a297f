"""IMAGE post-processing nodes: ImageBlend, ImageBlur, ImageSharpen, ImageQuantize, Morphology, Canny.

Ids, inputs, defaults, ranges and output order are ComfyUI's (comfy_extras/nodes_post_processing.py,
nodes_morphology.py, nodes_canny.py); the pixel math is in nodes/library/image/filters.py and edges.py.
Every node returns new tensors and leaves its inputs unchanged.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.image import edges, filters
from nodes.library.image.edges import MORPHOLOGY_OPERATIONS
from nodes.library.image.filters import BLEND_MODES, DITHER_METHODS
from nodes.library.image.transform import require_image, resize_image

torch = lazy_import("torch")


def require_choice(value: Any, choices: tuple, node: str, name: str) -> str:
    """`value` if it is one of `choices`, else a clear error naming the node and the input."""
    if value not in choices:
        raise ValueError(f"{node}: input '{name}' must be one of {', '.join(choices)}; got {value!r}")
    return value


def require_range(value: Any, low: float, high: float, node: str, name: str) -> Any:
    """`value` if it is a number within low..high, else a clear error naming the node and the input."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{node}: input '{name}' must be a number from {low} to {high}; got {value!r}")
    return value


def require_radius_fits(image: torch.Tensor, radius: int, node: str, name: str) -> None:
    """The mirrored border needs the radius to be smaller than both sides of the picture."""
    if radius >= min(image.shape[1], image.shape[2]):
        raise ValueError(f"{node}: input '{name}' ({radius}) must be smaller than the image's height and width "
                         f"({image.shape[1]} x {image.shape[2]}), because the border is mirrored")


class ImageBlend(Node):
    node_id = "ImageBlend"
    category = "image/postprocessing"
    description = ("Mixes image2, composed onto image1 by blend_mode, with image1: image1·(1 - f) + mode·f, "
                   "clamped to 0..1. image2 is resized (bicubic, centre crop) to image1's size. As in ComfyUI, "
                   "'difference' is image1 - image2 (clamped), not the absolute difference.")
    inputs = [
        Socket("IMAGE", "image1"),
        Socket("IMAGE", "image2"),
        Float("blend_factor", default=0.5, min=0.0, max=1.0, step=0.01),
        Combo("blend_mode", BLEND_MODES),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image1, image2, blend_factor: float, blend_mode: str) -> tuple:
        image1 = require_image(image1, cls.node_id, "image1")
        image2 = require_image(image2, cls.node_id, "image2").to(image1.device)
        require_range(blend_factor, 0.0, 1.0, cls.node_id, "blend_factor")
        require_choice(blend_mode, BLEND_MODES, cls.node_id, "blend_mode")
        if image1.shape[-1] != image2.shape[-1]:
            raise ValueError(f"{cls.node_id}: image1 has {image1.shape[-1]} channels and image2 "
                             f"{image2.shape[-1]}; they must match")
        if image2.shape[0] not in (1, image1.shape[0]):
            raise ValueError(f"{cls.node_id}: image2's batch ({image2.shape[0]}) must be 1 or image1's "
                             f"({image1.shape[0]})")
        if image1.shape[1:3] != image2.shape[1:3]:
            image2 = resize_image(image2, image1.shape[2], image1.shape[1], "bicubic", "center")
        blended = filters.blend_pixels(image1, image2.to(image1.dtype), blend_mode)
        return (torch.clamp(image1 * (1 - blend_factor) + blended * blend_factor, 0, 1),)


class ImageBlur(Node):
    node_id = "ImageBlur"
    category = "image/postprocessing"
    description = ("Gaussian blur over a (2·radius + 1)² window; sigma is in units of the radius (ComfyUI's "
                   "kernel spans -1..1), the border is mirrored.")
    inputs = [
        Socket("IMAGE", "image"),
        Int("blur_radius", default=1, min=1, max=31, step=1),
        Float("sigma", default=1.0, min=0.1, max=10.0, step=0.1),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, blur_radius: int, sigma: float) -> tuple:
        image = require_image(image, cls.node_id)
        require_range(blur_radius, 1, 31, cls.node_id, "blur_radius")
        require_range(sigma, 0.1, 10.0, cls.node_id, "sigma")
        require_radius_fits(image, blur_radius, cls.node_id, "blur_radius")
        kernel = filters.gaussian_kernel(blur_radius * 2 + 1, sigma, device=image.device)
        return (filters.convolve_reflect(image, kernel),)


class ImageSharpen(Node):
    node_id = "ImageSharpen"
    category = "image/postprocessing"
    description = ("Unsharp mask: (1 + 10·alpha)·image - 10·alpha·blur(image), the blur being ImageBlur's "
                   "gaussian over (2·radius + 1)²; flat areas keep their value; clamped to 0..1, border mirrored.")
    inputs = [
        Socket("IMAGE", "image"),
        Int("sharpen_radius", default=1, min=1, max=31, step=1),
        Float("sigma", default=1.0, min=0.1, max=10.0, step=0.01),
        Float("alpha", default=1.0, min=0.0, max=5.0, step=0.01),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, sharpen_radius: int, sigma: float, alpha: float) -> tuple:
        image = require_image(image, cls.node_id)
        require_range(sharpen_radius, 1, 31, cls.node_id, "sharpen_radius")
        require_range(sigma, 0.1, 10.0, cls.node_id, "sigma")
        require_range(alpha, 0.0, 5.0, cls.node_id, "alpha")
        require_radius_fits(image, sharpen_radius, cls.node_id, "sharpen_radius")
        kernel = filters.sharpen_kernel(sharpen_radius, sigma, alpha).to(image.device)
        return (torch.clamp(filters.convolve_reflect(image, kernel), 0, 1),)


class ImageQuantize(Node):
    node_id = "ImageQuantize"
    category = "image/postprocessing"
    description = ("Reduces each RGB image to a palette of at most `colors` (Pillow's median cut on 8-bit "
                   "pixels), with no dithering, Floyd-Steinberg, or an ordered Bayer matrix.")
    inputs = [
        Socket("IMAGE", "image"),
        Int("colors", default=256, min=1, max=256, step=1),
        Combo("dither", DITHER_METHODS),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, colors: int, dither: str) -> tuple:
        image = require_image(image, cls.node_id)
        require_range(colors, 1, 256, cls.node_id, "colors")
        require_choice(dither, DITHER_METHODS, cls.node_id, "dither")
        if image.shape[-1] != 3:
            raise ValueError(f"{cls.node_id}: input 'image' must have 3 (RGB) channels, got {image.shape[-1]}")
        pixels = (image.detach().float().cpu().clamp(0, 1) * 255).to(torch.uint8).numpy()
        frames = [torch.from_numpy(filters.quantize_picture(frame, int(colors), dither).copy()) for frame in pixels]
        return (torch.stack(frames).to(image.device, torch.float32) / 255,)


class Morphology(Node):
    node_id = "Morphology"
    display_name = "ImageMorphology"
    category = "image/postprocessing"
    description = ("Grey-level morphology with a kernel_size² square: erode (window minimum), dilate (maximum), "
                   "open, close, gradient (dilate - erode), top_hat (image - open), bottom_hat (close - image). "
                   "Pixels outside the image take no part. Even sizes reach one pixel further up and left, as "
                   "kornia 0.8 does (kornia 0.9 mirrors the dilation window).")
    inputs = [
        Socket("IMAGE", "image"),
        Combo("operation", MORPHOLOGY_OPERATIONS),
        Int("kernel_size", default=3, min=3, max=999, step=1),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, operation: str, kernel_size: int) -> tuple:
        image = require_image(image, cls.node_id)
        require_choice(operation, MORPHOLOGY_OPERATIONS, cls.node_id, "operation")
        require_range(kernel_size, 3, 999, cls.node_id, "kernel_size")
        planes = image.movedim(-1, 1)
        return (edges.morphology(planes, operation, int(kernel_size)).movedim(1, -1).contiguous(),)


class Canny(Node):
    node_id = "Canny"
    category = "image/preprocessors"
    description = ("Canny edges as a white-on-black RGB image: grey, 5x5 gaussian (σ 1), Sobel, non-maximum "
                   "suppression, hysteresis between low_threshold and high_threshold (kornia's canny). "
                   "An alpha channel is ignored.")
    inputs = [
        Socket("IMAGE", "image"),
        Float("low_threshold", default=0.4, min=0.01, max=0.99, step=0.01),
        Float("high_threshold", default=0.8, min=0.01, max=0.99, step=0.01),
    ]
    outputs = [Out("IMAGE")]

    @classmethod
    def run(cls, ctx: Any, *, image, low_threshold: float, high_threshold: float) -> tuple:
        image = require_image(image, cls.node_id)
        require_range(low_threshold, 0.01, 0.99, cls.node_id, "low_threshold")
        require_range(high_threshold, 0.01, 0.99, cls.node_id, "high_threshold")
        if low_threshold > high_threshold:
            raise ValueError(f"{cls.node_id}: low_threshold ({low_threshold}) must not be above high_threshold "
                             f"({high_threshold})")
        if image.shape[-1] not in (1, 3, 4):
            raise ValueError(f"{cls.node_id}: input 'image' must have 1, 3 or 4 channels, got {image.shape[-1]}")
        if min(image.shape[1], image.shape[2]) < 3:
            raise ValueError(f"{cls.node_id}: input 'image' must be at least 3 x 3 pixels, "
                             f"got {image.shape[1]} x {image.shape[2]}")
        planes = image[..., :3].movedim(-1, 1).float()
        found = edges.canny(planes, float(low_threshold), float(high_threshold))
        return (found.expand(-1, 3, -1, -1).movedim(1, -1).contiguous().to(image.dtype),)


NODES = [ImageBlend, ImageBlur, ImageSharpen, ImageQuantize, Morphology, Canny]
