"""Pictures of what happens inside: nodes that return an IMAGE for PreviewImage to show.

- LatentChannelsPreview: the channels of a LATENT side by side, each through a colour map,
  normalised per channel or to one shared range, with a colour bar and the value ranges.
- SigmasPlot: a noise schedule (a SIGMAS input, or a scheduler choice for a MODEL) as a
  plot of sigma against step, linear or log scale, optionally every scheduler overlaid.
- VAERoundTrip: an image, its VAE encode/decode reconstruction and their amplified absolute
  difference side by side, with the PSNR printed (and output as FLOAT).
- DenoiseFilmstrip (nodes/library/inspect/filmstrip.py): a KSampler that films the denoised
  prediction at chosen steps.

Drawing helpers live in nodes/library/inspect/plotting.py and nodes/library/inspect/line_chart.py.
"""

from __future__ import annotations

import math
from typing import Any

from diffusion.sampling.names import SCHEDULER_NAMES
from nodes.api.declare import Boolean, Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.inspect.filmstrip import DenoiseFilmstrip
from nodes.library.inspect.line_chart import Series, draw_line_chart
from nodes.library.inspect.plotting import (
    COLORMAP_NAMES,
    apply_colormap,
    as_image_batch,
    blank,
    colour_bar,
    fitting_width,
    format_number,
    paste,
    pil_to_tensor,
    text_box,
    text_height,
    text_width,
)
from nodes.library.latent.vae_codec import require_image, require_vae
from nodes.library.sampling.ksampler import require_latent, require_model

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
discrete = lazy_import("diffusion.sampling.discrete")
sigma_plan = lazy_import("diffusion.sampling.sigma_plan")

GAP = 6
CATEGORY = "inspect"


# ---------------------------------------------------------------------------- LatentChannelsPreview


def channel_ranges(latent: torch.Tensor, shared: bool) -> list[tuple[float, float]]:
    """(min, max) of every channel of one latent [C, h, w]; with `shared`, the overall range for each."""
    flat = latent.reshape(latent.shape[0], -1).float()
    lows, highs = flat.min(dim=1).values.tolist(), flat.max(dim=1).values.tolist()
    if shared:
        low, high = min(lows), max(highs)
        return [(low, high)] * len(lows)
    return list(zip(lows, highs, strict=True))


def normalised(channel: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Channel values mapped from [low, high] to [0, 1] (a constant channel becomes 0.5)."""
    if high - low <= 1e-12:
        return torch.full_like(channel, 0.5, dtype=torch.float32)
    return ((channel.float() - low) / (high - low)).clamp(0, 1)


def tile_shape(height: int, width: int, tile_size: int) -> tuple[int, int]:
    """The tile size showing an h x w channel with its longer side at `tile_size` pixels."""
    scale = tile_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def latent_channels_picture(latent: torch.Tensor, *, shared: bool, colormap: str, tile_size: int,
                            title: str) -> torch.Tensor:
    """The picture [H, W, 3] of one latent [C, h, w]: a grid of channel tiles and a colour bar."""
    channels = latent.shape[0]
    columns = channels if channels <= 8 else math.ceil(math.sqrt(channels))
    rows = math.ceil(channels / columns)
    tile_h, tile_w = tile_shape(latent.shape[1], latent.shape[2], tile_size)
    label_h = text_box("", 1).shape[0]
    cell_w = max(tile_w, text_width("-0.000 .. -0.000") + 4)
    cell_h = label_h + tile_h + label_h
    bar_w = 16 + GAP + text_width("-0.00e+00") + 8
    width = GAP + columns * (cell_w + GAP) + bar_w
    height = label_h + GAP + rows * (cell_h + GAP)
    canvas = blank(height, width)
    paste(canvas, text_box(title, width, align="left"), 0, 0)

    ranges = channel_ranges(latent, shared)
    unit = torch.stack([normalised(latent[i], *ranges[i]) for i in range(channels)])
    coloured = apply_colormap(unit, colormap).permute(0, 3, 1, 2)  # colour at latent resolution, then enlarge
    tiles = F.interpolate(coloured, size=(tile_h, tile_w), mode="nearest-exact").permute(0, 2, 3, 1)
    for index in range(channels):
        top = label_h + GAP + (index // columns) * (cell_h + GAP)
        left = GAP + (index % columns) * (cell_w + GAP)
        low, high = ranges[index]
        paste(canvas, text_box(f"channel {index}", cell_w), top, left)
        paste(canvas, tiles[index], top + label_h, left + (cell_w - tile_w) // 2)
        paste(canvas, text_box(f"{format_number(low)} .. {format_number(high)}", cell_w), top + label_h + tile_h,
              left)

    bar_left = GAP + columns * (cell_w + GAP)
    bar_top = label_h + GAP + label_h
    overall = (min(r[0] for r in ranges), max(r[1] for r in ranges))
    top_text, bottom_text = (format_number(overall[1]), format_number(overall[0])) if shared else ("max", "min")
    paste(canvas, colour_bar(tile_h, 16, colormap), bar_top, bar_left)
    caption_w = bar_w - 16 - GAP
    paste(canvas, text_box(top_text, caption_w, align="left"), bar_top, bar_left + 16 + GAP // 2)
    paste(canvas, text_box(bottom_text, caption_w, align="left"), bar_top + tile_h - label_h, bar_left + 16 + GAP // 2)
    return canvas


class LatentChannelsPreview(Node):
    node_id = "LatentChannelsPreview"
    display_name = "Latent Channels Preview"
    category = CATEGORY
    description = ("Shows the channels of a latent side by side through a colour map, with a colour bar and "
                   "each channel's value range.")
    inputs = [
        Socket("LATENT", "samples", tooltip="The latent to look at."),
        Int("batch_index", default=0, min=0, max=4095, tooltip="Which image of the batch to show."),
        Combo("normalize", ("per_channel", "shared"),
              tooltip="per_channel: each tile spans its own min..max; shared: one range for all channels."),
        Combo("colormap", COLORMAP_NAMES, tooltip="How values become colours (low to high)."),
        Int("tile_size", default=128, min=16, max=1024, step=8,
            tooltip="Pixels of the longer side of each channel tile (nearest-neighbour scaling)."),
    ]
    outputs = [Out("IMAGE", tooltip="The channel tiles, labelled, with a colour bar.")]

    @classmethod
    def run(cls, ctx: Any, *, samples: Any, batch_index: int = 0, normalize: str = "per_channel",
            colormap: str = "gray", tile_size: int = 128) -> tuple:
        node = cls.node_id
        latent = require_latent(samples, node, "samples")["samples"]
        if latent.ndim != 4 or 0 in latent.shape:
            raise ValueError(f"{node}: input 'samples' must hold a [batch, channels, height, width] latent, "
                             f"got shape {tuple(latent.shape)}")
        if not 0 <= batch_index < latent.shape[0]:
            raise ValueError(f"{node}: input 'batch_index' is {batch_index}, but the latent has "
                             f"{latent.shape[0]} image(s) (valid: 0..{latent.shape[0] - 1})")
        if normalize not in ("per_channel", "shared"):
            raise ValueError(f"{node}: input 'normalize' must be 'per_channel' or 'shared', got {normalize!r}")
        if colormap not in COLORMAP_NAMES:
            raise ValueError(f"{node}: input 'colormap' must be one of {', '.join(COLORMAP_NAMES)}, got {colormap!r}")
        if not 16 <= int(tile_size) <= 1024:
            raise ValueError(f"{node}: input 'tile_size' must be in 16..1024, got {tile_size}")
        item = latent[batch_index].detach().cpu()
        if not torch.isfinite(item).all():
            raise ValueError(f"{node}: input 'samples' holds NaN or infinite values in batch item {batch_index}")
        title = (f"latent {item.shape[0]} x {item.shape[1]} x {item.shape[2]}, image {batch_index} of "
                 f"{latent.shape[0]}, {normalize.replace('_', ' ')} range")
        picture = latent_channels_picture(item, shared=(normalize == "shared"), colormap=colormap,
                                          tile_size=int(tile_size), title=title)
        return (as_image_batch(picture),)


# ---------------------------------------------------------------------------- SigmasPlot


def checked_sigmas(sigmas: Any, node: str, name: str = "sigmas") -> torch.Tensor:
    """A SIGMAS input as a 1-D float tensor; clear errors for other types, empty, negative or non-finite."""
    if not isinstance(sigmas, torch.Tensor) or sigmas.ndim != 1:
        got = f"a tensor of shape {tuple(sigmas.shape)}" if isinstance(sigmas, torch.Tensor) else type(sigmas).__name__
        raise TypeError(f"{node}: input '{name}' must be SIGMAS (a 1-D tensor), got {got}")
    if sigmas.numel() == 0:
        raise ValueError(f"{node}: input '{name}' is empty: there is no schedule to plot")
    values = sigmas.detach().float().cpu()
    if not torch.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"{node}: input '{name}' must hold finite sigmas >= 0")
    return values


def schedules_to_plot(node: str, sigmas: Any, model: Any, scheduler: str, steps: int,
                      compare_all: bool) -> list[tuple[str, torch.Tensor]]:
    """(legend name, sigmas) pairs: the SIGMAS input wins over the scheduler choice; `compare_all` adds every scheduler."""
    if sigmas is None and model is None:
        raise ValueError(f"{node}: connect 'sigmas' (e.g. from BasicScheduler), or a 'model' to plot the schedule "
                         f"of the chosen scheduler")
    if compare_all and model is None:
        raise ValueError(f"{node}: 'compare_all_schedulers' needs a 'model' input (the schedules depend on it)")
    if model is not None:
        model = require_model(model, node)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10000:
            raise ValueError(f"{node}: input 'steps' must be an integer in 1..10000, got {steps!r}")
        if scheduler not in SCHEDULER_NAMES:
            raise ValueError(f"{node}: input 'scheduler' must be one of {', '.join(SCHEDULER_NAMES)}, "
                             f"got {scheduler!r}")
    found: list[tuple[str, torch.Tensor]] = []
    if sigmas is not None:
        found.append(("sigmas input", checked_sigmas(sigmas, node)))
    if model is not None and (compare_all or sigmas is None):
        names = SCHEDULER_NAMES if compare_all else (scheduler,)
        schedule = discrete.schedule_of(model)
        found += [(name, sigma_plan.basic_scheduler_sigmas(schedule, name, steps).float()) for name in names]
    return found


class SigmasPlot(Node):
    node_id = "SigmasPlot"
    display_name = "Sigmas Plot"
    category = CATEGORY
    description = ("Plots a noise schedule: sigma against step. Connect SIGMAS, or a MODEL to plot the chosen "
                   "scheduler (SIGMAS wins when both are connected).")
    inputs = [
        Socket("SIGMAS", "sigmas", optional=True, tooltip="A schedule to plot (e.g. from BasicScheduler)."),
        Socket("MODEL", "model", optional=True, tooltip="Plot this model's schedule for the scheduler below."),
        Combo("scheduler", SCHEDULER_NAMES, default="normal", tooltip="Used with 'model' when no SIGMAS is connected."),
        Int("steps", default=20, min=1, max=10000, tooltip="Used with 'model'."),
        Boolean("log_scale", default=False, tooltip="Logarithmic sigma axis (the final sigma 0 is then not drawn)."),
        Boolean("compare_all_schedulers", default=False,
                tooltip="Overlay every scheduler for the model and steps, with a legend."),
        Int("width", default=640, min=200, max=4096, step=8),
        Int("height", default=400, min=160, max=4096, step=8),
    ]
    outputs = [Out("IMAGE", tooltip="The plot.")]

    @classmethod
    def run(cls, ctx: Any, *, sigmas: Any = None, model: Any = None, scheduler: str = "normal", steps: int = 20,
            log_scale: bool = False, compare_all_schedulers: bool = False, width: int = 640,
            height: int = 400) -> tuple:
        node = cls.node_id
        for name, value, low in (("width", width, 200), ("height", height, 160)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 4096:
                raise ValueError(f"{node}: input '{name}' must be an integer in {low}..4096, got {value!r}")
        found = schedules_to_plot(node, sigmas, model, scheduler, steps, bool(compare_all_schedulers))
        series = [Series(name, list(range(len(values))), values.tolist()) for name, values in found]
        longest = max(len(values) - 1 for _, values in found)
        title = (f"noise schedule: {found[0][0]}, {longest} steps" if len(found) == 1
                 else f"noise schedules, {longest} steps")
        note = "log scale; sigma 0 is not shown" if log_scale else ""
        try:
            picture = draw_line_chart(series, width=width, height=height, title=title, x_label="step",
                                      y_label="sigma", log_y=bool(log_scale), note=note)
        except ValueError as exc:
            raise ValueError(f"{node}: {exc}") from None
        return (as_image_batch(pil_to_tensor(picture)),)


# ---------------------------------------------------------------------------- VAERoundTrip


def psnr(original: torch.Tensor, reconstruction: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two images in 0..1 (inf when they are identical)."""
    mse = torch.mean((original.double() - reconstruction.double()) ** 2).item()
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def centre_crop(image: torch.Tensor, factor: int) -> torch.Tensor:
    """The image [B, H, W, C] cropped (centred) to multiples of `factor`, as VAE encoding crops it."""
    height, width = image.shape[1] // factor * factor, image.shape[2] // factor * factor
    top, left = (image.shape[1] - height) // 2, (image.shape[2] - width) // 2
    return image[:, top:top + height, left:left + width]


def round_trip_panel(original: torch.Tensor, reconstruction: torch.Tensor, gain: float) -> torch.Tensor:
    """One comparison picture [H', W', 3]: original | reconstruction | amplified |difference|, PSNR below."""
    height, width = original.shape[0], original.shape[1]
    difference = ((original - reconstruction).abs() * gain).clamp(0, 1)
    titles = ["original", "reconstruction", f"|difference|\nx {format_number(gain)}"]
    label_h, cell_w = text_height(2), fitting_width(width, titles)
    canvas = blank(label_h + height + text_height(1), 3 * cell_w + 2 * GAP)
    for index, (title, picture) in enumerate(zip(titles, (original, reconstruction, difference), strict=True)):
        left = index * (cell_w + GAP)
        paste(canvas, text_box(title, cell_w, label_h), 0, left)
        paste(canvas, picture, label_h, left + (cell_w - width) // 2)
    value = psnr(original, reconstruction)
    caption = f"PSNR {value:.2f} dB" if math.isfinite(value) else "PSNR inf dB (identical)"
    paste(canvas, text_box(caption, canvas.shape[1]), label_h + height, 0)
    return canvas


def round_trip_origins(height: int, width: int, gain: float) -> list[tuple[int, int]]:
    """(top, left) of the original, the reconstruction and the difference in a panel made by round_trip_panel."""
    cell_w = fitting_width(width, ["original", "reconstruction", f"|difference|\nx {format_number(gain)}"])
    return [(text_height(2), index * (cell_w + GAP) + (cell_w - width) // 2) for index in range(3)]


class VAERoundTrip(Node):
    node_id = "VAERoundTrip"
    display_name = "VAE Round Trip"
    category = CATEGORY
    description = ("Encodes and decodes an image with a VAE and shows the original, the reconstruction and their "
                   "amplified absolute difference, with the PSNR.")
    inputs = [
        Socket("IMAGE", "image", tooltip="The image to send through the VAE."),
        Socket("VAE", "vae"),
        Float("difference_gain", default=4.0, min=1.0, max=100.0, step=0.5,
              tooltip="The absolute difference is multiplied by this to make it visible."),
    ]
    outputs = [Out("IMAGE", "comparison", tooltip="One panel per image of the batch."),
               Out("FLOAT", "psnr", tooltip="PSNR in dB over the whole batch (inf when identical).")]

    @classmethod
    def run(cls, ctx: Any, *, image: Any, vae: Any, difference_gain: float = 4.0) -> tuple:
        node = cls.node_id
        vae = require_vae(vae, node)
        image = require_image(image, node, "image")
        if isinstance(difference_gain, bool) or not isinstance(difference_gain, (int, float)) \
                or not math.isfinite(difference_gain) or difference_gain <= 0:
            raise ValueError(f"{node}: input 'difference_gain' must be a positive number, got {difference_gain!r}")
        original = centre_crop(image[..., :3].float().cpu(), int(getattr(vae, "downscale", 8)))
        try:
            reconstruction = vae.decode(vae.encode(original)).float().cpu()
        except ValueError as exc:
            raise ValueError(f"{node}: input 'image': {exc}") from None
        if reconstruction.shape != original.shape:
            raise ValueError(f"{node}: the VAE returned an image of shape {tuple(reconstruction.shape)} for an input "
                             f"of shape {tuple(original.shape)}")
        ctx.check_interrupted()
        panels = [round_trip_panel(o, r, float(difference_gain)) for o, r in zip(original, reconstruction, strict=True)]
        return torch.stack(panels).contiguous(), psnr(original, reconstruction)


NODES = [LatentChannelsPreview, SigmasPlot, DenoiseFilmstrip, VAERoundTrip]
