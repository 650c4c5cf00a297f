"""Stub node types and a registry for graph-engine tests (no nodes/, no torch).

`StubType` implements graph.schema.NodeType from plain callables and records every
call; `library()` returns a registry with the small set of types most tests share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graph.schema import InputSpec, NodeOutput, NodeSchema, OutputSpec


def inp(name: str, type_: str = "INT", *, required: bool = True, choices=None, **options: Any) -> InputSpec:
    return InputSpec(name=name, type=type_, required=required, options=options, choices=tuple(choices) if choices else None)


def out(type_: str, name: str | None = None, is_list: bool = False) -> OutputSpec:
    return OutputSpec(type=type_, name=name or type_, is_list=is_list)


class StubType:
    """A NodeType built from callables; `calls` records the inputs of every execute call."""

    def __init__(
        self,
        schema: NodeSchema,
        run: Callable[..., Any] | None = None,
        *,
        fingerprint: Callable[[dict], Any] | None = None,
        validate: Callable[[dict, Any], list] | None = None,
        lazy: Callable[..., list] | None = None,
    ):
        self._schema = schema
        self._run = run
        self._fingerprint = fingerprint
        self._validate = validate
        self._lazy = lazy
        self.calls: list[dict] = []
        self.validate_calls: list[tuple[dict, Any]] = []

    def schema(self) -> NodeSchema:
        return self._schema

    def fingerprint(self, inputs):
        return None if self._fingerprint is None else self._fingerprint(dict(inputs))

    def validate(self, inputs, input_types):
        self.validate_calls.append((dict(inputs), input_types))
        return [] if self._validate is None else self._validate(dict(inputs), input_types)

    def check_lazy_status(self, context, inputs):
        return [] if self._lazy is None else self._lazy(context, **inputs)

    def execute(self, context, inputs):
        self.calls.append(dict(inputs))
        if self._run is None:
            return NodeOutput(values=tuple(None for _ in self._schema.outputs))
        result = self._run(context, **inputs)
        return result if isinstance(result, NodeOutput) else NodeOutput(values=tuple(result))


def make(class_type: str, inputs=(), outputs=(), run=None, **kwargs: Any) -> StubType:
    hooks = {k: kwargs.pop(k) for k in ("fingerprint", "validate", "lazy") if k in kwargs}
    schema = NodeSchema(class_type=class_type, inputs=tuple(inputs), outputs=tuple(outputs), **kwargs)
    return StubType(schema, run, **hooks)


class StubRegistry:
    def __init__(self, *types: StubType):
        self.types: dict[str, StubType] = {}
        for t in types:
            self.add(t)

    def add(self, node_type: StubType) -> StubType:
        self.types[node_type.schema().class_type] = node_type
        return node_type

    def get(self, class_type: str):
        return self.types.get(class_type)

    def class_types(self) -> list[str]:
        return list(self.types)

    def __getitem__(self, class_type: str) -> StubType:
        return self.types[class_type]


def _save(ctx, value):
    return NodeOutput(values=(), ui={"values": [value]})


def library() -> StubRegistry:
    """Int (0..100) -> INT, Add(a, b) -> INT, Text -> STRING, Float, Flag, Choice (combo),
    Image/Latent producers, Save (output node taking "*"), SaveImage (output node taking IMAGE)."""
    return StubRegistry(
        make("Int", [inp("value", "INT", min=0, max=100)], [out("INT")], lambda ctx, value: (value,)),
        make("Add", [inp("a"), inp("b")], [out("INT")], lambda ctx, a, b: (a + b,)),
        make("Text", [inp("text", "STRING")], [out("STRING")], lambda ctx, text: (text,)),
        make("Float", [inp("x", "FLOAT", min=-10.0, max=10.0)], [out("FLOAT")], lambda ctx, x: (x,)),
        make("Flag", [inp("on", "BOOLEAN")], [out("BOOLEAN")], lambda ctx, on: (on,)),
        make("Choice", [inp("mode", "COMBO", choices=["fast", "slow"])], [out("STRING")], lambda ctx, mode: (mode,)),
        make("Seed", [inp("seed", "INT", min=0, max=0xFFFFFFFFFFFFFFFF)], [out("INT")], lambda ctx, seed: (seed,)),
        make("Image", [], [out("IMAGE")], lambda ctx: ("image",)),
        make("Latent", [], [out("LATENT")], lambda ctx: ("latent",)),
        make("Save", [inp("value", "*")], [], _save, output_node=True),
        make("SaveImage", [inp("images", "IMAGE")], [], lambda ctx, images: NodeOutput((), {"images": [images]}), output_node=True),
    )


def node(class_type: str, **inputs: Any) -> dict:
    """An API-format node."""
    return {"class_type": class_type, "inputs": inputs}


def chain(length: int, start: int = 1) -> dict:
    """Int -> Add -> Add ... -> Save: `length` nodes in all, ids "1".."length"."""
    prompt = {"1": node("Int", value=start)}
    for i in range(2, length):
        prompt[str(i)] = node("Add", a=[str(i - 1), 0], b=1)
    prompt[str(length)] = node("Save", value=[str(length - 1), 0])
    return prompt
