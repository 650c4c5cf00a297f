"""ComfyUI's `comfy_execution` package (graph building and blocking) as custom node packs import it."""
