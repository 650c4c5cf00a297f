"""The declaration API: declared classes become schemas and run through DeclaredNodeType."""

from __future__ import annotations

import pytest

from graph.schema import NodeOutput, NodeType
from nodes.api.declare import (
    Boolean,
    Combo,
    DeclaredNodeType,
    FileList,
    Float,
    Int,
    Node,
    Out,
    Socket,
    String,
)
from nodes.api.results import NodeDefinitionError


class Sampler(Node):
    node_id = "TestSampler"
    display_name = "Test Sampler"
    category = "sampling"
    description = "A sampler-like node."
    version = "3"
    hidden = ("PROMPT", "UNIQUE_ID")
    inputs = [
        Socket("MODEL", "model", tooltip="the model"),
        Int("seed", default=0, min=0, max=2**64 - 1, control_after_generate=True),
        Float("cfg", default=8.0, min=0.0, max=100.0, step=0.1, round=0.01),
        Combo("sampler_name", ["euler", "ddim"]),
        String("text", multiline=True, dynamic_prompts=True, placeholder="prompt"),
        Boolean("flag", default=True, label_on="on", label_off="off"),
        Socket("LATENT", "extra", optional=True, lazy=True, raw_link=True),
        Int("forced", default=1, force_input=True, optional=True),
    ]
    outputs = [Out("LATENT", tooltip="the result"), Out("INT", "seed_out")]

    @classmethod
    def run(cls, ctx, *, model, seed, cfg, sampler_name, text, flag, prompt=None, unique_id=None, **rest):
        return (("latent", model, seed), seed + 1)


def test_declared_node_is_a_node_type():
    assert isinstance(DeclaredNodeType(Sampler), NodeType)


def test_schema_carries_every_declared_fact():
    schema = DeclaredNodeType(Sampler, python_module="nodes.library.sampling.ksampler").schema()
    assert schema.class_type == "TestSampler"
    assert schema.display_name == "Test Sampler"
    assert schema.category == "sampling"
    assert schema.description == "A sampler-like node."
    assert schema.version == "3"
    assert schema.python_module == "nodes.library.sampling.ksampler"
    assert schema.hidden == (("prompt", "PROMPT"), ("unique_id", "UNIQUE_ID"))
    assert [i.name for i in schema.inputs] == ["model", "seed", "cfg", "sampler_name", "text", "flag", "extra", "forced"]
    assert [i.required for i in schema.inputs] == [True] * 6 + [False, False]
    assert schema.outputs[0].type == "LATENT" and schema.outputs[0].name == "LATENT"
    assert schema.outputs[0].tooltip == "the result"
    assert schema.outputs[1].name == "seed_out"
    assert schema.extra["output_tooltips"] == ["the result", None]
    assert not schema.output_node and not schema.input_is_list


def test_input_options_use_comfyui_names():
    schema = DeclaredNodeType(Sampler).schema()
    opts = {i.name: dict(i.options) for i in schema.inputs}
    assert opts["model"] == {"tooltip": "the model"}
    assert opts["seed"] == {"default": 0, "min": 0, "max": 18446744073709551615, "control_after_generate": True}
    assert opts["cfg"] == {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}
    assert opts["text"] == {"multiline": True, "placeholder": "prompt", "dynamicPrompts": True}
    assert opts["flag"] == {"default": True, "label_on": "on", "label_off": "off"}
    assert opts["extra"] == {"lazy": True, "rawLink": True}
    assert opts["forced"] == {"default": 1, "forceInput": True}
    combo = schema.input("sampler_name")
    assert combo.type == "COMBO" and combo.choices == ("euler", "ddim") and combo.is_combo
    assert schema.input("forced").is_widget is False
    assert schema.input("extra").lazy


def test_float_round_false_is_kept():
    assert Float("x", round=False).option_dict() == {"round": False}


def test_file_list_combo_is_reread_on_every_schema_call(runtime):
    class Loader(Node):
        node_id = "TestLoader"
        inputs = [Combo("ckpt_name", FileList("checkpoints"))]
        outputs = [Out("MODEL")]

        @classmethod
        def run(cls, ctx, *, ckpt_name):
            return (ckpt_name,)

    node = DeclaredNodeType(Loader, runtime)
    assert node.schema().input("ckpt_name").choices == ()
    checkpoints = runtime.folders.model_paths("checkpoints")[0]
    (checkpoints / "b.safetensors").write_bytes(b"x")
    (checkpoints / "sub").mkdir()
    (checkpoints / "sub" / "a.ckpt").write_bytes(b"x")
    (checkpoints / "notes.txt").write_text("not a model")
    assert node.schema().input("ckpt_name").choices == ("b.safetensors", "sub/a.ckpt")


def test_file_list_without_runtime_is_empty():
    assert FileList("checkpoints").resolve(None) == []


def test_callable_combo_options_receive_the_runtime(runtime):
    seen = []

    class Pick(Node):
        node_id = "TestPick"
        inputs = [Combo("choice", lambda rt: seen.append(rt) or ["x", "y"])]
        outputs = [Out("STRING")]

        @classmethod
        def run(cls, ctx, *, choice):
            return choice

    assert DeclaredNodeType(Pick, runtime).schema().input("choice").choices == ("x", "y")
    assert seen == [runtime]


def test_static_schema_is_built_once():
    node = DeclaredNodeType(Sampler)
    assert node.schema() is node.schema()


def test_execute_passes_inputs_by_keyword_and_context(make_ctx):
    node = DeclaredNodeType(Sampler)
    out = node.execute(make_ctx(), {"model": "M", "seed": 4, "cfg": 1.0, "sampler_name": "euler", "text": "",
                                    "flag": False, "prompt": {}, "unique_id": "1"})
    assert out == NodeOutput(values=(("latent", "M", 4), 5), ui=None)


class Checked(Node):
    node_id = "TestChecked"
    inputs = [Int("a", min=0, max=10), Int("b"), String("path")]
    outputs = [Out("INT")]
    calls: list = []

    @classmethod
    def run(cls, ctx, *, a, b, path):
        return (a,)

    @classmethod
    def fingerprint(cls, ctx, *, path):
        cls.calls.append(path)
        return f"hash-of-{path}"

    @classmethod
    def validate(cls, ctx, *, a, input_types):
        if a is not None and a == 3:
            return "a must not be 3"
        if input_types.get("b") == "FLOAT":
            return [("b", "b must not come from a FLOAT")]
        return True


def test_fingerprint_gets_only_the_inputs_it_names():
    node = DeclaredNodeType(Checked)
    assert node.fingerprint({"a": 1, "b": None, "path": "x.png"}) == "hash-of-x.png"
    assert Checked.calls[-1] == "x.png"


def test_no_fingerprint_means_none():
    assert DeclaredNodeType(Sampler).fingerprint({"seed": 1}) is None


def test_validate_names_its_inputs_and_receives_input_types():
    node = DeclaredNodeType(Checked)
    schema = node.schema()
    assert schema.custom_validated == frozenset({"a"})
    assert schema.validates_input_types is True
    assert node.validate({"a": 1, "b": 2, "path": "p"}, {}) == []
    assert node.validate({"a": 3, "b": 2, "path": "p"}, None) == [(None, "a must not be 3")]
    assert node.validate({"a": None, "b": None, "path": "p"}, {"b": "FLOAT"}) == [("b", "b must not come from a FLOAT")]


def test_kwargs_validator_covers_every_input():
    class Loose(Node):
        node_id = "TestLoose"
        inputs = [Int("a")]
        outputs = [Out("INT")]

        @classmethod
        def run(cls, ctx, *, a):
            return (a,)

        @classmethod
        def validate(cls, ctx, **inputs):
            return False if inputs.get("a") == 0 else True

    node = DeclaredNodeType(Loose)
    assert node.schema().custom_validated == frozenset({"*"})
    assert node.schema().validates_input_types is False
    assert node.validate({"a": 1}, None) == []
    assert node.validate({"a": 0}, None) == [(None, "Custom validation failed")]


def test_no_validate_means_no_custom_checks():
    node = DeclaredNodeType(Sampler)
    assert node.schema().custom_validated == frozenset()
    assert node.validate({"seed": -1}, None) == []


def test_default_lazy_status_requests_unevaluated_lazy_inputs():
    node = DeclaredNodeType(Sampler)
    assert node.check_lazy_status(None, {"extra": None, "seed": None}) == ["extra"]
    assert node.check_lazy_status(None, {"extra": "ready"}) == []
    assert node.check_lazy_status(None, {}) == []


def test_custom_lazy_status():
    class Switch(Node):
        node_id = "TestSwitch"
        inputs = [Boolean("use_a"), Socket("*", "a", lazy=True), Socket("*", "b", lazy=True)]
        outputs = [Out("*")]

        @classmethod
        def check_lazy_status(cls, ctx, *, use_a, a=None, b=None):
            wanted = "a" if use_a else "b"
            return [wanted] if {"a": a, "b": b}[wanted] is None else []

        @classmethod
        def run(cls, ctx, *, use_a, a=None, b=None):
            return (a if use_a else b,)

    node = DeclaredNodeType(Switch)
    assert node.check_lazy_status(None, {"use_a": False, "a": None, "b": None}) == ["b"]
    assert node.check_lazy_status(None, {"use_a": True, "a": 1, "b": None}) == []


def _declare(**attrs):
    def run(cls, ctx, **kw):
        return ()

    attrs.setdefault("run", classmethod(run))
    return type("Bad", (Node,), {"node_id": "Bad", **attrs})


@pytest.mark.parametrize(
    "attrs, message",
    [
        ({"inputs": [Int("a"), Int("a")]}, "input 'a' is declared twice"),
        ({"inputs": [("a", "INT")]}, "inputs must be Input objects"),
        ({"outputs": ["INT"]}, "outputs must be Out objects"),
        ({"hidden": ("PROMPTS",)}, "unknown hidden input kind 'PROMPTS'"),
    ],
)
def test_bad_declarations_are_refused_with_the_node_named(attrs, message):
    with pytest.raises(NodeDefinitionError) as err:
        DeclaredNodeType(_declare(**attrs))
    assert "node Bad" in str(err.value) and message in str(err.value)


def test_node_without_run_is_refused():
    class NoRun(Node):
        node_id = "NoRun"

    with pytest.raises(NodeDefinitionError, match="no run"):
        DeclaredNodeType(NoRun)


def test_non_node_class_is_refused():
    with pytest.raises(NodeDefinitionError, match="not a subclass"):
        DeclaredNodeType(object)


def test_declared_nodes_are_never_instantiated():
    with pytest.raises(TypeError, match="never instantiated"):
        Sampler()


def test_node_id_defaults_to_the_class_name():
    class Unnamed(Node):
        outputs = [Out("INT")]

        @classmethod
        def run(cls, ctx):
            return (1,)

    assert DeclaredNodeType(Unnamed).schema().class_type == "Unnamed"


def test_unique_id_makes_a_declared_node_not_idempotent():
    assert DeclaredNodeType(Sampler).schema().not_idempotent is True
    assert DeclaredNodeType(Checked).schema().not_idempotent is False
