"""The type table shared by validation and execution: one registry read per class, clear failures."""

from __future__ import annotations

import pytest

from graph.type_table import TypeTable, UnknownNodeTypeError
from tests.graph.stubs import StubRegistry, library


class CountingRegistry(StubRegistry):
    def __init__(self, *types):
        super().__init__(*types)
        self.lookups: list[str] = []

    def get(self, class_type):
        self.lookups.append(class_type)
        if class_type == "Broken":
            raise RuntimeError("schema file is gone")
        return super().get(class_type)


def counting_registry() -> CountingRegistry:
    return CountingRegistry(*library().types.values())


def test_each_class_is_read_from_the_registry_once():
    registry = counting_registry()
    table = TypeTable(registry)
    node_type, schema = table("Int")
    assert node_type is registry["Int"] and schema.class_type == "Int"
    assert table.schema("Int") is schema
    assert table.load("Int") is None
    assert registry.lookups == ["Int"]


def test_an_unknown_class_raises_when_called():
    table = TypeTable(counting_registry())
    with pytest.raises(UnknownNodeTypeError, match="node type Nope does not exist"):
        table("Nope")


def test_load_gives_the_reason_and_remembers_it():
    registry = counting_registry()
    table = TypeTable(registry)
    assert table.load("Nope") == "Cannot execute because node Nope does not exist."
    assert table.load("Broken") == (
        "Cannot execute because the schema of node Broken could not be read: schema file is gone"
    )
    assert table.load("Nope") == "Cannot execute because node Nope does not exist."
    assert registry.lookups == ["Nope", "Broken"]


def test_registry_errors_reach_the_executor_as_they_are():
    with pytest.raises(RuntimeError, match="schema file is gone"):
        TypeTable(counting_registry())("Broken")
