"""The shape of a latent-diffusion UNet: `UNetConfig`, with the released families as presets.

Kept apart from the model code (`diffusion.models.unet.unet`) so that the preset tables
(`diffusion.models.unet.presets`) and the model both depend on it, and it on neither of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from diffusion.models.unet.presets import unet_preset_fields


class UNetConfigError(ValueError):
    """The tensors do not form a UNet in the latent-diffusion layout."""


@dataclass(frozen=True)
class UNetConfig:
    """Everything needed to build a `UNetModel`.

    `transformer_depth` has one entry per input ResBlock (0 = no attention there),
    `transformer_depth_output` one per output ResBlock; `transformer_depth_middle` is -1
    when the middle block has no transformer.
    """

    in_channels: int
    out_channels: int
    model_channels: int
    channel_mult: tuple[int, ...]
    num_res_blocks: tuple[int, ...]
    transformer_depth: tuple[int, ...]
    transformer_depth_output: tuple[int, ...]
    transformer_depth_middle: int
    context_dim: int | None
    use_linear_in_transformer: bool
    num_heads: int = -1
    num_head_channels: int = -1
    adm_in_channels: int | None = None

    def __post_init__(self) -> None:
        levels = len(self.channel_mult)
        if len(self.num_res_blocks) != levels:
            raise UNetConfigError("num_res_blocks needs one entry per channel_mult level")
        if len(self.transformer_depth) != sum(self.num_res_blocks):
            raise UNetConfigError("transformer_depth needs one entry per input ResBlock")
        if len(self.transformer_depth_output) != sum(n + 1 for n in self.num_res_blocks):
            raise UNetConfigError("transformer_depth_output needs one entry per output ResBlock")
        if (self.num_heads == -1) == (self.num_head_channels == -1):
            raise UNetConfigError("set exactly one of num_heads and num_head_channels")

    @property
    def time_embed_dim(self) -> int:
        return self.model_channels * 4

    def heads_for(self, channels: int) -> tuple[int, int]:
        """(heads, dim_head) of the attention at a level with `channels` channels."""
        if self.num_heads != -1:
            return self.num_heads, channels // self.num_heads
        return channels // self.num_head_channels, self.num_head_channels

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def preset(family: str, size: str = "full") -> UNetConfig:
        """The UNet of a model family ("sd15", "sd15-inpaint", "sd21", "sd21-v", "sdxl", "sdxl-refiner")."""
        return UNetConfig(**unet_preset_fields(family, size))
