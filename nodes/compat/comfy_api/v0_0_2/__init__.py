"""`comfy_api.v0_0_2`: ComfyUI's pinned V3 API version; the same surface as `comfy_api.latest`."""

from __future__ import annotations

from nodes.compat.comfy_api.latest import IO, UI, ComfyAPI, ComfyAPISync, ComfyExtension, io, ui

__all__ = ["IO", "UI", "ComfyAPI", "ComfyAPISync", "ComfyExtension", "io", "ui"]
