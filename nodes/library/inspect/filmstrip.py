"""DenoiseFilmstrip: a KSampler that films its own denoising.

It takes KSampler's inputs (same names, defaults and meaning) plus a VAE and `frames`,
samples exactly as KSampler does (so its LATENT equals KSampler's for the same inputs),
records the denoised prediction x0 at the chosen steps through the sampler's step
callback, decodes them with the VAE and lays them out as one strip: one column per frame
(labelled with the step and its sigma), one row per image of the batch.

`frames` is either a count ("4": that many steps evenly spaced from the first to the
last) or a list of 0-based step numbers ("0,5,10,19"; negative numbers count from the
end, "-1" is the last step; a single step needs a trailing comma: "7,"). The frame of
the last step is the sampler's result itself, decoded, which is what x0 at the last step
becomes once the sampler has taken it (and, with a noise mask, what the kept area is).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nodes.api.declare import Float, Node, Out, Socket, String
from nodes.api.lazy import lazy_import
from nodes.library.inspect.plotting import BACKGROUND, blank, fitting_width, format_number, paste, text_box, text_height
from nodes.library.latent.vae_codec import require_vae
from nodes.library.sampling.ksampler import require_latent, require_model, sample_latent, sampler_inputs

torch = lazy_import("torch")
discrete = lazy_import("diffusion.sampling.discrete")
sigma_plan = lazy_import("diffusion.sampling.sigma_plan")

GAP = 4


def parse_frames(frames: Any, total: int, node: str = "DenoiseFilmstrip") -> list[int]:
    """The sorted, distinct 0-based steps named by `frames` (a count or a list, see the module docstring)."""
    if isinstance(frames, int) and not isinstance(frames, bool):
        frames = str(frames)
    if not isinstance(frames, str) or not frames.strip():
        raise ValueError(f"{node}: input 'frames' must be a count like '4' or steps like '0,5,10,19', got {frames!r}")
    text = frames.strip()
    tokens = [t for t in re.split(r"[,\s]+", text) if t]
    try:
        numbers = [int(t) for t in tokens]
    except ValueError:
        raise ValueError(f"{node}: input 'frames' must be a count like '4' or whole step numbers like "
                         f"'0,5,10,19', got {frames!r}") from None
    if len(numbers) == 1 and "," not in text:
        count = numbers[0]
        if not 1 <= count <= total:
            raise ValueError(f"{node}: input 'frames' asks for {count} frames, but there are {total} steps "
                             f"(a count must be in 1..{total})")
        if count == 1:
            return [total - 1]
        return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})
    steps = []
    for number in numbers:
        step = number + total if number < 0 else number
        if not 0 <= step < total:
            raise ValueError(f"{node}: input 'frames' names step {number}, which is out of range for {total} steps "
                             f"(valid: 0..{total - 1}, or -{total}..-1 from the end)")
        steps.append(step)
    return sorted(set(steps))


class FrameRecorder:
    """The sampler callback's x0 at the chosen steps, unscaled to VAE latents, on the CPU."""

    def __init__(self, steps: list[int], scale_factor: float) -> None:
        self.wanted = set(steps)
        self.scale_factor = float(scale_factor)
        self.latents: dict[int, torch.Tensor] = {}

    def record(self, step: int, x0: torch.Tensor) -> None:
        if step in self.wanted:
            self.latents[step] = (x0.detach().float() / self.scale_factor).cpu()


@dataclass(frozen=True)
class StripLayout:
    """Where each frame goes in the strip: a labelled column per frame, a row per batch item."""

    frame_height: int
    frame_width: int
    labels: tuple[str, ...]
    batch: int

    @property
    def label_height(self) -> int:
        return text_height(max(label.count("\n") + 1 for label in self.labels))

    @property
    def cell_width(self) -> int:
        return fitting_width(self.frame_width, list(self.labels))

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the whole strip."""
        return (self.label_height + self.batch * (self.frame_height + GAP),
                GAP + len(self.labels) * (self.cell_width + GAP))

    def origin(self, column: int, row: int) -> tuple[int, int]:
        """(top, left) of the frame in `column` for batch item `row`."""
        left = GAP + column * (self.cell_width + GAP) + (self.cell_width - self.frame_width) // 2
        return self.label_height + row * (self.frame_height + GAP), left


def strip_picture(frames: list[torch.Tensor], labels: list[str]) -> torch.Tensor:
    """Frames (each an IMAGE batch [B, H, W, 3]) as one picture [H', W', 3] laid out by StripLayout."""
    layout = StripLayout(frames[0].shape[1], frames[0].shape[2], tuple(labels), frames[0].shape[0])
    canvas = blank(*layout.size, BACKGROUND)
    for column, (frame, label) in enumerate(zip(frames, labels, strict=True)):
        left = GAP + column * (layout.cell_width + GAP)
        paste(canvas, text_box(label, layout.cell_width, layout.label_height), 0, left)
        for row in range(layout.batch):
            paste(canvas, frame[row], *layout.origin(column, row))
    return canvas


def frame_label(step: int, sigma: float, is_result: bool) -> str:
    """The two-line caption of one frame."""
    return f"step {step}\n(result)" if is_result else f"step {step}\nsigma {format_number(sigma)}"


class DenoiseFilmstrip(Node):
    node_id = "DenoiseFilmstrip"
    display_name = "Denoise Filmstrip"
    category = "inspect"
    description = ("KSampler that also records the denoised prediction at chosen steps and shows them, decoded, "
                   "as one strip image. Its LATENT is what KSampler gives for the same inputs.")
    inputs = [
        Socket("MODEL", "model", tooltip="The model used for denoising the input latent."),
        *sampler_inputs("seed"),
        Float("denoise", default=1.0, min=0.0, max=1.0, step=0.01, tooltip="The amount of denoising applied."),
        Socket("VAE", "vae", tooltip="Decodes the recorded predictions."),
        String("frames", default="4",
               tooltip="A count ('4': evenly spaced from first to last step) or 0-based steps ('0,5,10,19').")
    ]
    outputs = [Out("LATENT", tooltip="The denoised latent (as KSampler)."),
               Out("IMAGE", "filmstrip", tooltip="The frames side by side, labelled with step and sigma."),
               Out("IMAGE", "frames", tooltip="The decoded frames as a batch, in the strip's reading order.")]

    @classmethod
    def validate(cls, ctx: Any, *, frames: Any = None, steps: Any = None) -> list[tuple[str, str]]:
        """Checks `frames` against `steps` before the graph runs (either may be linked: then checked at run time).

        Naming `steps` here takes it out of the generic range check, so its range is checked here too.
        """
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10000):
            return [("steps", f"{cls.node_id}: input 'steps' must be an integer in 1..10000, got {steps!r}")]
        if frames is None or steps is None:
            return []
        try:
            parse_frames(frames, steps, cls.node_id)
        except ValueError as exc:
            return [("frames", str(exc))]
        return []

    @classmethod
    def run(cls, ctx: Any, *, model: Any, seed: int, steps: int, cfg: float, sampler_name: str, scheduler: str,
            positive: Any, negative: Any, latent_image: Any, vae: Any, frames: Any = "4",
            denoise: float = 1.0) -> tuple:
        node = cls.node_id
        model = require_model(model, node)
        vae = require_vae(vae, node)
        require_latent(latent_image, node)
        try:
            sigmas = sigma_plan.denoise_sigmas(discrete.schedule_of(model), scheduler, sampler_name, steps, denoise)
        except ValueError as exc:
            raise ValueError(f"{node}: {exc}") from None
        total = len(sigmas) - 1
        if total < 1:
            raise ValueError(f"{node}: with denoise {denoise} the sampler runs no steps, so there is nothing to film")
        chosen = parse_frames(frames, total, node)
        recorder = FrameRecorder(chosen, model.model_info.latent_format.scale_factor)
        result = sample_latent(ctx, node, model=model, seed=seed, steps=steps, cfg=cfg, sampler_name=sampler_name,
                               scheduler=scheduler, positive=positive, negative=negative, latent_image=latent_image,
                               denoise=denoise, on_step=lambda step, x0, x, n: recorder.record(step, x0))
        out = result["samples"]

        decoded, labels = [], []
        for step in chosen:
            ctx.check_interrupted()
            if step == total - 1:
                frame_latent = out
            elif step in recorder.latents:
                frame_latent = recorder.latents[step]
            else:
                raise RuntimeError(f"{node}: the sampler {sampler_name!r} did not report step {step}")
            try:
                decoded.append(vae.decode(frame_latent).float().cpu())
            except ValueError as exc:
                raise ValueError(f"{node}: input 'vae' cannot decode this latent: {exc}") from None
            labels.append(frame_label(step, float(sigmas[step]), step == total - 1))
        strip = strip_picture(decoded, labels).unsqueeze(0).contiguous()
        frames_batch = torch.stack(decoded, dim=1).reshape(-1, *decoded[0].shape[1:]).contiguous()
        return result, strip, frames_batch
