"""The server's ports (server/ports.py) match the real classes app/ hands it, and the stubs the
server tests use: every Protocol member exists, with a signature a caller of the Protocol can use."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import pytest
from server_stub_engine import StubExecutor, StubResult
from server_stub_nodes import StubFolders, StubRegistry, StubRuntime

from folders.layout import Folders
from graph.executor import ExecutionResult, Executor
from nodes.api.registry import NodeRegistry
from nodes.api.runtime import NodeRuntime
from server.ports import FolderLayout, ModelUnloader, NodeLibrary, PromptRunner, RunOutcome, ServerRuntime

P = inspect.Parameter
POSITIONAL = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)

REAL = {
    "NodeRegistry": (NodeLibrary, lambda root: NodeRegistry()),
    "Folders": (FolderLayout, lambda root: Folders(root)),
    "NodeRuntime": (ServerRuntime, lambda root: NodeRuntime.for_directory(root)),
    "NodeRuntime as ModelUnloader": (ModelUnloader, lambda root: NodeRuntime.for_directory(root)),
    "Executor": (PromptRunner, lambda root: Executor(NodeRegistry())),
    "ExecutionResult": (RunOutcome, lambda root: ExecutionResult("success")),
}
STUBS = {
    "StubRegistry": (NodeLibrary, lambda root: StubRegistry()),
    "StubFolders": (FolderLayout, lambda root: StubFolders(root)),
    "StubRuntime": (ServerRuntime, lambda root: StubRuntime(root)),
    "StubExecutor": (PromptRunner, lambda root: StubExecutor(StubRegistry())),
    "StubResult": (RunOutcome, lambda root: StubResult("success", {}, [], [], [])),
}


def protocol_members(protocol: type) -> dict[str, object]:
    """Name -> function or property of a Protocol and of the Protocols it extends."""
    members: dict[str, object] = {}
    for cls in reversed(protocol.__mro__):
        if cls in (object, typing.Protocol, typing.Generic) or not getattr(cls, "_is_protocol", False):
            continue
        for name, value in vars(cls).items():
            if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property)):
                members[name] = value
    return members


def signature_problems(wanted: inspect.Signature, real: inspect.Signature) -> list[str]:
    """Why a call written against `wanted` (self left out) could fail on `real`."""
    problems = []
    params = list(real.parameters.values())
    takes_args = any(p.kind is P.VAR_POSITIONAL for p in params)
    takes_kwargs = any(p.kind is P.VAR_KEYWORD for p in params)
    real_positional = [p for p in params if p.kind in POSITIONAL]
    for index, want in enumerate(p for p in wanted.parameters.values() if p.kind in POSITIONAL):
        if index >= len(real_positional):
            if not takes_args:
                problems.append(f"takes no positional parameter {want.name!r}")
            continue
        have = real_positional[index]
        if want.kind is P.POSITIONAL_OR_KEYWORD and have.name != want.name:
            problems.append(f"names positional parameter {index} {have.name!r}, not {want.name!r}")
        if want.default is not P.empty and have.default is P.empty:
            problems.append(f"requires {have.name!r}, which the port lets callers leave out")
    for want in (p for p in wanted.parameters.values() if p.kind is P.KEYWORD_ONLY):
        have = real.parameters.get(want.name)
        if have is None or have.kind not in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY):
            if not takes_kwargs:
                problems.append(f"takes no keyword {want.name!r}")
        elif want.default is not P.empty and have.default is P.empty:
            problems.append(f"requires {want.name!r}, which the port lets callers leave out")
    for have in params:
        if have.default is P.empty and have.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD) \
                and have.name not in wanted.parameters:
            problems.append(f"requires {have.name!r}, which the port never passes")
    return problems


def _without_self(function) -> inspect.Signature:
    signature = inspect.signature(function)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def port_problems(protocol: type, instance: object) -> list[str]:
    """Every way `instance` falls short of `protocol` (properties typed with a Protocol are checked too)."""
    problems = []
    for name, member in protocol_members(protocol).items():
        where = f"{type(instance).__name__}.{name}"
        if not hasattr(instance, name):
            problems.append(f"{where} is missing")
            continue
        value = getattr(instance, name)
        if isinstance(member, property):
            hint = typing.get_type_hints(member.fget).get("return")
            expected = typing.get_origin(hint) or hint
            if getattr(hint, "_is_protocol", False):
                problems += port_problems(hint, value)
            elif isinstance(expected, type) and not isinstance(value, expected):
                problems.append(f"{where} is a {type(value).__name__}, not {hint}")
            continue
        if not callable(value):
            problems.append(f"{where} is not callable")
            continue
        problems += [f"{where} {why}" for why in signature_problems(_without_self(member), inspect.signature(value))]
    return problems


@pytest.mark.parametrize("name", sorted(REAL))
def test_the_real_classes_satisfy_the_ports(name, tmp_path):
    protocol, make = REAL[name]
    assert port_problems(protocol, make(tmp_path)) == []


@pytest.mark.parametrize("name", sorted(STUBS))
def test_the_server_test_stubs_satisfy_the_ports(name, tmp_path):
    protocol, make = STUBS[name]
    assert port_problems(protocol, make(tmp_path)) == []


def test_the_members_of_a_port_include_the_protocols_it_extends():
    assert set(protocol_members(NodeLibrary)) == {"get", "class_types", "object_info", "object_info_for",
                                                  "web_directories"}
    assert set(protocol_members(ServerRuntime)) == {"folders", "unload_models", "resident_models"}


class _Half:
    """A folder layout missing most of the port, with a wrongly named parameter and a new requirement."""

    def directory(self, kind: str) -> Path:
        return Path(kind)

    def known_keys(self, extra: str) -> list[str]:
        return []


class _HalfRuntime:
    folders = _Half()

    def unload_models(self) -> bool:
        return True


def test_a_class_that_drifted_from_a_port_is_reported():
    problems = port_problems(FolderLayout, _Half())
    assert "_Half.model_paths is missing" in problems and "_Half.resolve is missing" in problems
    assert "_Half.directory names positional parameter 0 'kind', not 'folder_type'" in problems
    assert "_Half.known_keys requires 'extra', which the port never passes" in problems
    assert "_Half.list_files is missing" in port_problems(ServerRuntime, _HalfRuntime())


def test_signatures_with_keywords_and_defaults():
    def port(self, prompt, *, prompt_id, sink=None):
        pass

    def good(prompt, *, prompt_id, sink=None, extra=None):
        pass

    def needs_sink(prompt, *, prompt_id, sink):
        pass

    def no_keyword(prompt):
        pass

    def anything(*args, **kwargs):
        pass

    wanted = _without_self(port)
    assert signature_problems(wanted, inspect.signature(good)) == []
    assert signature_problems(wanted, inspect.signature(anything)) == []
    assert signature_problems(wanted, inspect.signature(needs_sink)) == [
        "requires 'sink', which the port lets callers leave out"]
    assert signature_problems(wanted, inspect.signature(no_keyword)) == ["takes no keyword 'prompt_id'",
                                                                         "takes no keyword 'sink'"]
