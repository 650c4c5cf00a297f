"""ComfyUI's `comfy` package as custom node packs import it (`import comfy.utils`, ...).

Packs reach it as `comfy` through nodes/compat/aliases.py; each submodule here answers ComfyUI's
public names with latentgraph's own objects. What is here is listed in aliases.PROVIDED.
"""
