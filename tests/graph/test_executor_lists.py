"""ComfyUI list semantics and lazy inputs in the executor."""

import pytest
from stubs import inp, library, make, node, out

from graph.events import ListSink
from graph.executor import Executor
from graph.schema import NodeOutput
from graph.validate import validate_prompt


@pytest.fixture
def reg():
    r = library()
    r.add(make("Range", [inp("n")], [out("INT", is_list=True)], lambda ctx, n: (list(range(n)),)))
    r.add(make("Sum", [inp("values")], [out("INT")], lambda ctx, values: (sum(values),), input_is_list=True))
    r.add(make("Collect", [inp("value", "*")], [], lambda ctx, value: NodeOutput((), {"got": [value], "calls": ["x"]}), output_node=True))
    return r


def execute(reg, prompt):
    checked = validate_prompt(prompt, reg)
    assert checked.ok, checked.to_json()
    return Executor(reg).execute(checked.prompt, prompt_id="l", outputs=checked.outputs, sink=ListSink())


def test_output_is_list_maps_downstream_node(reg):
    result = execute(reg, {"1": node("Range", n=3), "2": node("Add", a=["1", 0], b=10), "3": node("Collect", value=["2", 0])})
    assert result.status == "success"
    assert [c["a"] for c in reg["Add"].calls] == [0, 1, 2]
    assert result.outputs["3"] == {"got": [10, 11, 12], "calls": ["x", "x", "x"]}


def test_shorter_list_repeats_its_last_element(reg):
    prompt = {
        "1": node("Range", n=4),
        "2": node("Range", n=2),
        "3": node("Add", a=["1", 0], b=["2", 0]),
        "4": node("Collect", value=["3", 0]),
    }
    result = execute(reg, prompt)
    assert result.outputs["4"]["got"] == [0, 2, 3, 4]


def test_input_is_list_gets_whole_lists(reg):
    result = execute(reg, {"1": node("Range", n=5), "2": node("Sum", values=["1", 0]), "3": node("Collect", value=["2", 0])})
    assert reg["Sum"].calls == [{"values": [0, 1, 2, 3, 4]}]
    assert result.outputs["3"]["got"] == [10]


def test_output_is_list_concatenates_across_calls(reg):
    prompt = {
        "1": node("Range", n=3),  # [0, 1, 2]
        "2": node("Range", n=["1", 0]),  # called 3 times: [] + [0] + [0, 1]
        "3": node("Sum", values=["2", 0]),
        "4": node("Collect", value=["3", 0]),
    }
    result = execute(reg, prompt)
    assert reg["Sum"].calls == [{"values": [0, 0, 1]}]
    assert result.outputs["4"]["got"] == [1]


def test_empty_list_means_no_call(reg):
    result = execute(reg, {"1": node("Range", n=0), "2": node("Add", a=["1", 0], b=1), "3": node("Collect", value=["2", 0])})
    assert result.status == "success"
    assert reg["Add"].calls == [] and reg["Collect"].calls == []
    assert result.outputs == {}


def test_list_output_must_be_a_list(reg):
    reg.add(make("BadList", [], [out("INT", is_list=True)], lambda ctx: (5,)))
    result = execute(reg, {"1": node("BadList"), "2": node("Collect", value=["1", 0])})
    assert result.status == "error" and "list output" in result.error["exception_message"]


def test_interrupt_checked_before_each_mapped_call(reg):
    def add_and_stop(ctx, a):
        if a == 1:
            ctx.interrupt.set()
        return (a,)

    reg.add(make("Stopper", [inp("a")], [out("INT")], add_and_stop))
    result = execute(reg, {"1": node("Range", n=5), "2": node("Stopper", a=["1", 0]), "3": node("Collect", value=["2", 0])})
    assert result.status == "interrupted"
    assert [c["a"] for c in reg["Stopper"].calls] == [0, 1]


def _switch_lazy(ctx, cond, on_true=None, on_false=None):
    return ["on_true"] if cond else ["on_false"]


@pytest.fixture
def lazy_reg(reg):
    reg.add(
        make(
            "Switch",
            [inp("cond", "BOOLEAN"), inp("on_true", "*", lazy=True), inp("on_false", "*", lazy=True)],
            [out("*")],
            lambda ctx, cond, on_true, on_false: (on_true if cond else on_false,),
            lazy=_switch_lazy,
        )
    )
    return reg


def switch_prompt(cond):
    return {
        "t": node("Text", text="yes"),
        "f": node("Int", value=0),
        "s": node("Switch", cond=cond, on_true=["t", 0], on_false=["f", 0]),
        "o": node("Collect", value=["s", 0]),
    }


def test_lazy_input_only_runs_the_requested_branch(lazy_reg):
    result = execute(lazy_reg, switch_prompt(True))
    assert result.status == "success"
    assert result.outputs["o"]["got"] == ["yes"]
    assert "f" not in result.executed and lazy_reg["Int"].calls == []
    assert lazy_reg["Switch"].calls == [{"cond": True, "on_true": "yes", "on_false": None}]
    assert result.executed == ["t", "s", "o"]


def test_lazy_branch_other_way(lazy_reg):
    result = execute(lazy_reg, switch_prompt(False))
    assert result.outputs["o"]["got"] == [0]
    assert lazy_reg["Text"].calls == []


def test_lazy_status_that_raises_is_an_error(lazy_reg):
    lazy_reg["Switch"]._lazy = lambda ctx, **kw: 1 / 0
    result = execute(lazy_reg, switch_prompt(True))
    assert result.status == "error" and result.error["node_id"] == "s"
