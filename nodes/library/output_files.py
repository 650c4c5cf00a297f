"""The base of nodes that write files named by a `filename_prefix` (SaveImage, SaveText, SaveLatent, ...).

An empty, over-long or folder-leaving prefix is refused when the prompt is validated, naming
the input, instead of failing when the node runs. A linked prefix is checked when it runs.
"""

from __future__ import annotations

from typing import Any

from folders.output_names import prefix_problem
from nodes.api.declare import Node


class SavesNamedFiles(Node):
    """A node with a `filename_prefix` input: validates the prefix before anything runs."""

    @classmethod
    def validate(cls, ctx: Any, *, filename_prefix: Any = None) -> Any:
        if filename_prefix is None:  # linked: its value is known only when the node runs
            return True
        problem = prefix_problem(filename_prefix)
        return ("filename_prefix", f"filename_prefix {problem}") if problem else True
