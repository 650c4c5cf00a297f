"""Upscale models through spandrel (loading.py), tiled upscaling (tiling.py), random ESRGAN files (make_esrgan.py)."""
