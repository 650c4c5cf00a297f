"""Node expansion, execution blockers and the running-node context variable in the executor (no torch)."""

from stubs import inp, library, make, node, out

from graph import events
from graph.blocking import ExecutionBlocker
from graph.events import ListSink
from graph.executor import Executor
from graph.running import running_node
from graph.schema import NodeOutput
from graph.validate import validate_prompt


def run(executor, prompt, prompt_id="p1"):
    checked = validate_prompt(prompt, executor.registry)
    assert checked.ok, checked.to_json()
    sink = ListSink()
    return executor.execute(checked.prompt, prompt_id=prompt_id, outputs=checked.outputs, sink=sink), sink


def quadruple(ctx, x):
    """Expands into (x + x) + (x + x) and returns a link to the sum."""
    prefix = f"{ctx.node_id}.sub."
    graph = {
        prefix + "1": node("Add", a=x, b=x),
        prefix + "2": node("Add", a=[prefix + "1", 0], b=[prefix + "1", 0]),
    }
    return NodeOutput(values=([prefix + "2", 0],), expand=graph)


def registry(*extra):
    reg = library()
    reg.add(make("Quadruple", [inp("x")], [out("INT")], quadruple))
    for node_type in extra:
        reg.add(node_type)
    return reg


def test_an_expanding_node_runs_its_subgraph_and_returns_its_result():
    reg = registry()
    executor = Executor(reg)
    prompt = {"1": node("Int", value=3), "2": node("Quadruple", x=["1", 0]), "3": node("Save", value=["2", 0])}
    result, sink = run(executor, prompt)
    assert result.status == "success", result.error
    assert result.outputs == {"3": {"values": [12]}}
    assert result.executed == ["1", "2.sub.1", "2.sub.2", "2", "3"]
    assert [c for c in reg["Add"].calls] == [{"a": 3, "b": 3}, {"a": 6, "b": 6}]
    assert "2.sub.1" not in prompt  # the caller's prompt is left as it was
    shown = {d["node"]: d["display_node"] for e, d in sink.events if e == events.EXECUTING}
    assert shown == {"1": "1", "2": "2", "2.sub.1": "2", "2.sub.2": "2", "3": "3"}
    again, _ = run(executor, prompt, "p2")
    assert again.cached == ["1", "2", "3"] and len(reg["Quadruple"].calls) == 1


def test_an_expansion_id_that_the_prompt_has_is_an_error():
    clash = make("Clash", [inp("x")], [out("INT")],
                 lambda ctx, x: NodeOutput(values=(["1", 0],), expand={"1": node("Int", value=5)}))
    executor = Executor(registry(clash))
    result, _ = run(executor, {"1": node("Int", value=3), "2": node("Clash", x=["1", 0]), "3": node("Save", value=["2", 0])})
    assert result.status == "error" and result.error["node_id"] == "2"
    assert "already has" in result.error["exception_message"]


def test_an_expansion_that_needs_its_own_result_is_refused():
    loop = make("Loop", [inp("x")], [out("INT")],
                lambda ctx, x: NodeOutput(values=(["L", 0],), expand={"L": node("Add", a=["2", 0], b=1)}))
    executor = Executor(registry(loop))
    result, _ = run(executor, {"1": node("Int", value=3), "2": node("Loop", x=["1", 0]), "3": node("Save", value=["2", 0])})
    assert result.status == "error" and "own result" in result.error["exception_message"]


def blocking_registry():
    gate = make("Gate", [inp("x"), inp("message", "STRING")], [out("INT")],
                lambda ctx, x, message: (ExecutionBlocker(message or None) if x < 0 else x,))
    return registry(gate)


def gated(value, message=""):
    return {
        "1": node("Int", value=value) if value >= 0 else node("Add", a=-1, b=0),
        "2": node("Gate", x=["1", 0], message=message),
        "3": node("Add", a=["2", 0], b=1),
        "4": node("Save", value=["3", 0]),
        "5": node("Save", value=["1", 0]),
    }


def test_a_silent_blocker_stops_its_branch_and_the_prompt_succeeds():
    reg = blocking_registry()
    result, sink = run(Executor(reg), gated(-1))
    assert result.status == "success"
    assert result.outputs == {"5": {"values": [-1]}}
    assert reg["Add"].calls == [{"a": -1, "b": 0}]  # node 3 was not called
    assert not [d for e, d in sink.events if e == events.EXECUTED and d["node"] == "4"]
    result, _ = run(Executor(reg), gated(2), "p2")
    assert result.outputs == {"4": {"values": [3]}, "5": {"values": [2]}}


def test_a_blocker_with_a_message_fails_the_prompt_at_the_blocked_node():
    result, _ = run(Executor(blocking_registry()), gated(-1, "no negative values"))
    assert result.status == "error"
    assert result.error["node_id"] == "3"
    assert result.error["exception_message"] == "Execution Blocked: no negative values"
    assert result.error["exception_type"].endswith("ExecutionBlocked")


def test_the_running_node_is_visible_to_plain_code_during_its_call_only():
    seen = []
    probe = make("Probe", [inp("x")], [out("INT")], lambda ctx, x: (seen.append(running_node()) or x,))
    result, _ = run(Executor(registry(probe)), {"1": node("Int", value=1), "2": node("Probe", x=["1", 0]),
                                                "3": node("Save", value=["2", 0])})
    assert result.status == "success"
    assert seen[0].node_id == "2" and seen[0].prompt_id == "p1"
    assert running_node() is None
