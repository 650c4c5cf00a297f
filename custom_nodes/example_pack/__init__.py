"""An example custom node pack in ComfyUI's classic style.

It is loaded at start like any third-party pack (see nodes/api/plugins.py) and exercises the
classic interface: INPUT_TYPES, RETURN_TYPES/RETURN_NAMES, FUNCTION, VALIDATE_INPUTS,
IS_CHANGED, OUTPUT_IS_LIST, INPUT_IS_LIST, hidden inputs, ui results and a WEB_DIRECTORY.

Its demo nodes are for developers, not for the node search of a fresh install: the pack registers
nothing unless the environment sets LATENTGRAPH_EXAMPLE_PACK=1.
"""

import os

from .example_nodes import NODE_CLASS_MAPPINGS as _NODES
from .example_nodes import NODE_DISPLAY_NAME_MAPPINGS as _NAMES

ENABLED = os.environ.get("LATENTGRAPH_EXAMPLE_PACK", "").strip().lower() in ("1", "true", "yes", "on")

NODE_CLASS_MAPPINGS = dict(_NODES) if ENABLED else {}
NODE_DISPLAY_NAME_MAPPINGS = dict(_NAMES) if ENABLED else {}
WEB_DIRECTORY = "./web/js" if ENABLED else None

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
