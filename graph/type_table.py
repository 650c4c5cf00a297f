"""Node types and schemas by class name, read from the registry once per prompt.

Validation and execution both look up each class of a prompt many times; a `TypeTable`
asks the registry (and the node type for its schema) only the first time.
"""

from __future__ import annotations

from graph.schema import NodeSchema, NodeType, Registry


class UnknownNodeTypeError(Exception):
    """The prompt names a class type the registry does not have (it was not validated)."""


class TypeTable:
    """(type, schema) pairs by class name, with the reasons classes could not be loaded."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.types: dict[str, tuple[NodeType, NodeSchema]] = {}
        self.failures: dict[str, str] = {}

    def _read(self, class_type: str) -> tuple[NodeType, NodeSchema] | None:
        node_type = self.registry.get(class_type)
        if node_type is None:
            return None
        found = self.types[class_type] = (node_type, node_type.schema())
        return found

    def __call__(self, class_type: str) -> tuple[NodeType, NodeSchema]:
        """The type and schema of a class; `UnknownNodeTypeError` when the registry has no such class.

        Errors of the registry or of reading the schema are raised as they are.
        """
        found = self.types.get(class_type) or self._read(class_type)
        if found is None:
            raise UnknownNodeTypeError(f"node type {class_type} does not exist")
        return found

    def schema(self, class_type: str) -> NodeSchema:
        return self(class_type)[1]

    def load(self, class_type: str) -> str | None:
        """None when the class is usable, else the reason it is not, as validation reports it. Never raises."""
        if class_type in self.types:
            return None
        if class_type not in self.failures:
            try:
                if self._read(class_type) is None:
                    self.failures[class_type] = f"Cannot execute because node {class_type} does not exist."
            except Exception as exc:
                self.failures[class_type] = (
                    f"Cannot execute because the schema of node {class_type} could not be read: {exc}"
                )
        return self.failures.get(class_type)
