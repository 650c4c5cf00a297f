"""Shapes of the demo model's three parts, all in the SD1.x layouts.

- VAE: the SD AutoencoderKL structure (4 levels, so 64x64 pixels -> 4x8x8 latents, factor 8 as
  every SD1 graph assumes) at width 64 on every level. Width 32 would be half the cost, but the
  VAE's GroupNorm(32) then normalises every channel on its own (instance norm), which erases the
  flat colours of these images and slowed training 2-3x per step; 64 keeps two channels a group.
- Text encoder: a CLIP-L-layout text tower (HF `text_model.` keys, quick_gelu, real CLIP vocabulary
  and tokenizer), 64 wide, 2 layers.
- UNet: SD1 structure (conv `proj_in`, 8 heads, cross-attention on the text tokens, eps prediction)
  at 32 channels on three levels (8x8, 4x4, 2x2 latents), attention at 8x8, 4x4 and the middle.
"""

from __future__ import annotations

from diffusion.models.text.clip_text import TextEncoderConfig
from diffusion.models.unet.unet import UNetConfig
from diffusion.models.vae.vae import VAEConfig

DEMO_VAE = VAEConfig(ch=64, ch_mult=(1, 1, 1, 1), num_res_blocks=1)

DEMO_TEXT_ENCODER = TextEncoderConfig(
    kind="clip_l", hidden_size=64, num_layers=2, num_heads=1, intermediate_size=256, hidden_act="quick_gelu",
)

DEMO_UNET = UNetConfig(
    in_channels=4,
    out_channels=4,
    model_channels=32,
    channel_mult=(1, 2, 2),
    num_res_blocks=(1, 1, 1),
    transformer_depth=(1, 1, 0),
    transformer_depth_output=(0, 0, 1, 1, 1, 1),
    transformer_depth_middle=1,
    context_dim=DEMO_TEXT_ENCODER.hidden_size,
    use_linear_in_transformer=False,
    num_heads=8,
)
