"""Stable Diffusion engine: checkpoints, models, text encoders, samplers, devices. No HTTP, no graph."""
