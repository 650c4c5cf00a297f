"""ComfyUI's `comfy_extras` package (the extra nodes' modules) as custom node packs import it."""
