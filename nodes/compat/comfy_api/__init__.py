"""ComfyUI's `comfy_api` package (the V3 node schema) as custom node packs import it."""
