"""Which CLIP text encoders each model family uses, and how each one pads and picks its layer.

Plain data without torch, so the `tokenize` command reads it without loading torch; the
encoding itself is `diffusion.models.text.text_encode`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncoderSpec:
    """How one encoder of a family tokenizes and which hidden state it returns."""

    name: str  # "l" | "h" | "g"
    pad_token: int
    default_layer: int | None  # None = last layer (final layer norm applied)
    layer_norm_hidden: bool  # apply the final layer norm to an intermediate layer's output
    embedding_key: str  # preferred key in textual-inversion files

    @property
    def kind(self) -> str:
        return f"clip_{self.name}"


_L_SD1 = EncoderSpec("l", 49407, None, True, "clip_l")
_H_SD2 = EncoderSpec("h", 0, -2, True, "clip_h")
_L_SDXL = EncoderSpec("l", 49407, -2, False, "clip_l")
_G_SDXL = EncoderSpec("g", 0, -2, False, "clip_g")
FAMILY_ENCODERS: dict[str, tuple[EncoderSpec, ...]] = {
    "sd1": (_L_SD1,),
    "sd2": (_H_SD2,),
    "sdxl": (_L_SDXL, _G_SDXL),
    "sdxl-refiner": (_G_SDXL,),
}
_FAMILY_ALIASES = {"sd15": "sd1", "sd15-inpaint": "sd1", "sd21": "sd2", "sd21-v": "sd2",
                   "sd21-unclip-l": "sd2", "sd21-unclip-h": "sd2"}


def clip_family(family: str) -> str:
    """The text-encoder family ("sd1", "sd2", "sdxl", "sdxl-refiner") of a model family name."""
    name = _FAMILY_ALIASES.get(family, family)
    if name not in FAMILY_ENCODERS:
        raise ValueError(f"no text encoders known for model family {family!r}")
    return name
