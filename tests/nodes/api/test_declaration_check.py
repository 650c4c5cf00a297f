"""The registration check: a declared node whose methods do not take what it declares is refused."""

from __future__ import annotations

import pytest

from graph.context import NodeContext
from nodes.api.declare import Boolean, Combo, DeclaredNodeType, FileList, Int, Node, Out, Socket
from nodes.api.registry import NodeRegistry
from nodes.api.results import NodeDefinitionError


def declared(run, *, inputs=(Int("steps"),), hidden=(), **methods):
    """A KSampler-named node class with `run` and the given hooks (plain functions made classmethods)."""
    attrs = {"node_id": "KSampler", "inputs": list(inputs), "hidden": hidden, "outputs": [Out("INT")],
             "run": classmethod(run)}
    attrs.update({name: classmethod(fn) for name, fn in methods.items()})
    return type("KSampler", (Node,), attrs)


def refusal(node_cls) -> str:
    with pytest.raises(NodeDefinitionError) as err:
        DeclaredNodeType(node_cls)
    return str(err.value)


def test_a_run_keyword_that_is_not_declared_is_refused():
    def run(cls, ctx, *, step):
        return (step,)

    assert "node KSampler: run() takes keyword 'step' but no input 'step' is declared" in refusal(declared(run))


def test_a_declared_input_that_run_does_not_take_is_refused():
    def run(cls, ctx, *, seed=0):
        return (seed,)

    message = refusal(declared(run, inputs=[Int("seed"), Int("steps")]))
    assert message == "node KSampler: declares input 'steps' that run() does not take"


def test_an_optional_input_also_has_to_be_taken():
    def run(cls, ctx, *, steps):
        return (steps,)

    message = refusal(declared(run, inputs=[Int("steps"), Int("extra", optional=True)]))
    assert "declares input 'extra' that run() does not take" in message


def test_a_keyword_of_an_optional_input_needs_a_default():
    def run(cls, ctx, *, steps, extra):
        return (steps,)

    message = refusal(declared(run, inputs=[Int("steps"), Int("extra", optional=True)]))
    assert "node KSampler: run() keyword 'extra' needs a default" in message


def test_defaults_are_allowed_for_optional_and_required_inputs():
    def run(cls, ctx, *, steps=20, extra=None):
        return (steps,)

    DeclaredNodeType(declared(run, inputs=[Int("steps"), Int("extra", optional=True)]))


def test_a_hidden_kind_that_run_does_not_take_is_refused():
    def run(cls, ctx, *, steps):
        return (steps,)

    message = refusal(declared(run, hidden=("PROMPT",)))
    assert "node KSampler: declares hidden 'PROMPT', given as keyword 'prompt', that run() does not take" in message


def test_a_hidden_keyword_without_the_hidden_kind_is_refused_with_a_hint():
    def run(cls, ctx, *, steps, unique_id=None):
        return (steps,)

    message = refusal(declared(run))
    assert "run() takes keyword 'unique_id' but no input 'unique_id' is declared" in message
    assert "hidden = ('UNIQUE_ID',)" in message


def test_hidden_keywords_need_no_default():
    def run(cls, ctx, *, steps, prompt, unique_id):
        return (steps,)

    DeclaredNodeType(declared(run, hidden=("PROMPT", "UNIQUE_ID")))


def test_a_kwargs_run_takes_any_declared_input_but_its_named_keywords_are_checked():
    def loose(cls, ctx, **inputs):
        return (inputs["steps"],)

    def misspelt(cls, ctx, *, step=1, **inputs):
        return (step,)

    node = DeclaredNodeType(declared(loose, inputs=[Int("steps"), Int("cfg")], hidden=("PROMPT",)))
    assert node.execute(None, {"steps": 3, "cfg": 1, "prompt": {}}).values == (3,)
    assert "run() takes keyword 'step' but no input 'step' is declared" in refusal(declared(misspelt))


def test_run_without_the_context_parameter_is_refused():
    def keywords_only(cls, *, steps):
        return (steps,)

    def steps_first(cls, steps):
        return (steps,)

    assert "node KSampler: run() must take the context as its first parameter" in refusal(declared(keywords_only))
    message = refusal(declared(steps_first))
    assert "the first parameter of run() receives the context, but it is named 'steps'" in message


@pytest.mark.parametrize("run, message", [
    (lambda cls, ctx, *args: (), "run() takes *args, but inputs arrive by keyword"),
    (lambda cls, ctx, steps, /: (), "run() takes 'steps' as positional-only"),
])
def test_positional_inputs_are_refused(run, message):
    assert message in refusal(declared(run))


def test_run_must_be_a_classmethod():
    def run(cls, ctx, *, steps):
        return (steps,)

    node_cls = type("KSampler", (Node,), {"node_id": "KSampler", "inputs": [Int("steps")], "run": run})
    assert "node KSampler: run() must be a @classmethod" in refusal(node_cls)


def test_positional_or_keyword_inputs_and_a_staticmethod_run_are_accepted():
    def run(ctx, steps):
        return (steps * 2,)

    node_cls = type("KSampler", (Node,), {"node_id": "KSampler", "inputs": [Int("steps")],
                                          "outputs": [Out("INT")], "run": staticmethod(run)})
    assert DeclaredNodeType(node_cls).execute(None, {"steps": 2}).values == (4,)


def _run(cls, ctx, *, steps):
    return (steps,)


def test_a_fingerprint_naming_an_undeclared_input_is_refused():
    def fingerprint(cls, ctx, *, path=None):
        return path

    message = refusal(declared(_run, fingerprint=fingerprint))
    assert "node KSampler: fingerprint() takes keyword 'path' but no input 'path' is declared" in message


def test_hooks_without_the_context_parameter_are_refused():
    def fingerprint(cls, *, steps=None):
        return steps

    def validate(cls, steps=None):
        return True

    assert "fingerprint() must take the context as its first parameter" in refusal(
        declared(_run, fingerprint=fingerprint))
    assert "the first parameter of validate() receives the context, but it is named 'steps'" in refusal(
        declared(_run, validate=validate))


def test_only_validate_may_take_input_types():
    def validate(cls, ctx, *, steps, input_types):
        return True

    def fingerprint(cls, ctx, *, input_types=None):
        return None

    node = DeclaredNodeType(declared(_run, validate=validate))
    assert node.schema().validates_input_types is True
    assert node.schema().custom_validated == frozenset({"steps"})
    message = refusal(declared(_run, fingerprint=fingerprint))
    assert "fingerprint() takes keyword 'input_types' but no input 'input_types' is declared" in message
    assert "given to validate() only" in message


def test_a_hook_keyword_of_an_optional_input_needs_a_default():
    def run(cls, ctx, *, steps, extra=None):
        return (steps,)

    def check_lazy_status(cls, ctx, *, extra):
        return []

    node_cls = declared(run, inputs=[Int("steps"), Int("extra", optional=True)], check_lazy_status=check_lazy_status)
    assert "node KSampler: check_lazy_status() keyword 'extra' needs a default" in refusal(node_cls)


def test_hooks_may_take_hidden_names_and_fewer_inputs_than_run():
    def run(cls, ctx, *, steps, cfg, unique_id):
        return (steps,)

    def check_lazy_status(cls, ctx, *, unique_id, cfg=None):
        return [] if unique_id == "7" else ["cfg"]

    node = DeclaredNodeType(declared(run, inputs=[Int("steps"), Int("cfg")], hidden=("UNIQUE_ID",),
                                     check_lazy_status=check_lazy_status))
    assert node.check_lazy_status(None, {"steps": 1, "cfg": None, "unique_id": "7"}) == []
    assert node.check_lazy_status(None, {"steps": 1, "cfg": None, "unique_id": "8"}) == ["cfg"]


@pytest.mark.parametrize("hook", ["fingerprint", "validate"])
def test_fingerprint_and_validate_may_not_take_hidden_names(hook):
    def run(cls, ctx, *, steps, unique_id):
        return (steps,)

    def method(cls, ctx, *, unique_id=None):
        return None

    message = refusal(declared(run, hidden=("UNIQUE_ID",), **{hook: method}))
    assert f"node KSampler: {hook}() takes keyword 'unique_id' but no input 'unique_id' is declared" in message
    assert "hidden inputs are given to run() and check_lazy_status() only" in message


def test_fingerprint_and_validate_get_a_context_with_the_runtime(runtime):
    seen = []

    def fingerprint(cls, ctx, *, steps=None):
        seen.append(ctx)
        return steps

    def validate(cls, ctx, *, steps=None):
        seen.append(ctx)
        return True

    node = DeclaredNodeType(declared(_run, fingerprint=fingerprint, validate=validate), runtime)
    assert node.fingerprint({"steps": 4}) == 4
    assert node.validate({"steps": 4}, None) == []
    assert all(isinstance(ctx, NodeContext) for ctx in seen)
    assert [(c.runtime, c.node_id, c.prompt_id, c.class_type) for c in seen] == [(runtime, "", "", "KSampler")] * 2


def test_a_correct_declaration_registers_and_runs(runtime):
    class Switch(Node):
        node_id = "TestCheckedSwitch"
        hidden = ("PROMPT",)
        inputs = [Boolean("use_a"), Socket("*", "a", lazy=True), Socket("*", "b", lazy=True, optional=True),
                  Combo("ckpt_name", FileList("checkpoints"), optional=True)]
        outputs = [Out("*")]

        @classmethod
        def run(cls, ctx, *, use_a, a, b=None, ckpt_name=None, prompt):
            return (a if use_a else b,)

        @classmethod
        def fingerprint(cls, ctx, *, ckpt_name=None):
            return ckpt_name

        @classmethod
        def validate(cls, ctx, *, use_a, input_types):
            return True

        @classmethod
        def check_lazy_status(cls, ctx, *, use_a, a=None, b=None):
            return [] if use_a else ["b"]

    registry = NodeRegistry()
    assert registry.register_class(Switch, runtime) == "TestCheckedSwitch"
    node = registry.get("TestCheckedSwitch")
    assert node.execute(None, {"use_a": True, "a": 1, "b": 2, "prompt": {}}).values == (1,)
    assert node.check_lazy_status(None, {"use_a": False, "a": 1, "b": None, "prompt": {}}) == ["b"]


def test_registering_a_bad_declaration_names_the_node():
    def run(cls, ctx, *, step):
        return (step,)

    with pytest.raises(NodeDefinitionError, match="node KSampler: run"):
        NodeRegistry().register_class(declared(run))


def test_a_model_file_loader_whose_file_input_is_not_an_input_is_refused():
    from nodes.library.loaders.model_loaders import ModelFileLoader

    with pytest.raises(NodeDefinitionError, match="node Broken: file_input must be one of its inputs"):
        class Broken(ModelFileLoader):
            node_id = "Broken"
            file_input = Combo("ckpt_name", FileList("checkpoints"))
            inputs = [Combo("other", FileList("checkpoints"))]
