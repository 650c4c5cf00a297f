"""An example custom node pack in ComfyUI's classic style.

It is loaded at start like any third-party pack (see nodes/api/plugins.py) and exercises the
classic interface: INPUT_TYPES, RETURN_TYPES/RETURN_NAMES, FUNCTION, VALIDATE_INPUTS,
IS_CHANGED, OUTPUT_IS_LIST, INPUT_IS_LIST, hidden inputs, ui results and a WEB_DIRECTORY.
"""

from .example_nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

WEB_DIRECTORY = "./web/js"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
