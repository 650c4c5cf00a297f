"""Node library: declarations, ComfyUI adapter, registry, plugin loader and the built-in nodes."""
