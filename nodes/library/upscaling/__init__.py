"""Upscaling nodes (model upscalers)."""
