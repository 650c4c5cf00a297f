"""Logic nodes with ComfyUI's ids (comfy_extras/nodes_logic.py): ComfySwitchNode and CustomCombo.

ComfySwitchNode passes on `on_true` or `on_false`. Both inputs are lazy: check_lazy_status
asks only for the chosen one, so the other branch is never run (graph/executor.py).
ComfyUI types the inputs and the output as a "match type" (COMFY_MATCHTYPE_V3: one type,
whatever the inputs are linked to), which its own validation treats as a wildcard; here
they are the wildcard `*` itself, because graph/types.py and the editor know no match
types yet (a documented difference in tests/nodes/test_object_info_reference.py).

CustomCombo's options are written by the user in ComfyUI's editor and never reach the
server, so any string is accepted for `choice` (ComfyUI skips its combo check too); the
node outputs it.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Boolean, Combo, Node, Out, Socket


class ComfySwitchNode(Node):
    node_id = "ComfySwitchNode"
    display_name = "Switch"
    category = "logic"
    experimental = True
    description = "Passes on on_true when switch is on, else on_false; only the chosen input is computed."
    inputs = [
        Boolean("switch"),
        Socket("*", "on_false", lazy=True),
        Socket("*", "on_true", lazy=True),
    ]
    outputs = [Out("*", "output")]

    @classmethod
    def check_lazy_status(cls, ctx: Any, *, switch: bool, on_false: Any = None, on_true: Any = None) -> list[str]:
        if switch and on_true is None:
            return ["on_true"]
        if not switch and on_false is None:
            return ["on_false"]
        return []

    @classmethod
    def run(cls, ctx: Any, *, switch: bool, on_false: Any = None, on_true: Any = None) -> tuple:
        if not isinstance(switch, bool):
            raise TypeError(f"{cls.node_id}: input 'switch' must be a BOOLEAN, got {type(switch).__name__}")
        return (on_true if switch else on_false,)


class CustomCombo(Node):
    node_id = "CustomCombo"
    display_name = "Custom Combo"
    category = "utils"
    experimental = True
    description = "Outputs the option chosen in a drop-down whose options are written in the editor."
    inputs = [Combo("choice", [])]
    outputs = [Out("STRING")]

    @classmethod
    def validate(cls, ctx: Any, *, choice: Any = None) -> Any:
        if choice is not None and not isinstance(choice, str):
            return ("choice", f"must be a string, got {type(choice).__name__}")
        return True

    @classmethod
    def run(cls, ctx: Any, *, choice: str) -> tuple:
        if not isinstance(choice, str):
            raise TypeError(f"{cls.node_id}: input 'choice' must be a string, got {type(choice).__name__}")
        return (choice,)


NODES = [ComfySwitchNode, CustomCombo]
