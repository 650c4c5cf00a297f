"""The one error type of workflow reading and conversion.

It lives in a module of its own so that the JSON reader (`graph.document`) and the
converters (`graph.ui_to_api`, `graph.api_to_ui` and their helpers) all raise it
without importing each other.
"""

from __future__ import annotations


class WorkflowError(ValueError):
    """A workflow document that cannot be read or converted.

    The message is a plain sentence naming what is wrong and where (node id, input
    name, JSON position). `node_id` and `input_name` carry the same facts for callers
    that render errors themselves (the server's ``node_errors``, the CLI).
    """

    def __init__(self, message: str, *, node_id: str | None = None, input_name: str | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id
        self.input_name = input_name
