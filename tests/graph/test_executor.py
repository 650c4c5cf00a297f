"""Executor: caching across prompts, events, errors, interruption."""

import pytest
from stubs import chain, inp, library, make, node, out

from graph import events
from graph.context import InterruptToken, PreviewImage
from graph.events import ListSink
from graph.executor import Executor
from graph.schema import NodeOutput
from graph.validate import validate_prompt


@pytest.fixture
def reg():
    return library()


def run(executor, prompt, prompt_id="p1", **kwargs):
    """Validate then execute, collecting events."""
    checked = validate_prompt(prompt, executor.registry)
    assert checked.ok, checked.to_json()
    sink = ListSink()
    result = executor.execute(checked.prompt, prompt_id=prompt_id, outputs=checked.outputs, sink=sink, **kwargs)
    return result, sink


def test_first_run_executes_everything_then_everything_is_cached(reg):
    executor = Executor(reg)
    result, sink = run(executor, chain(5))
    assert result.status == "success"
    assert result.executed == ["1", "2", "3", "4", "5"]
    assert result.cached == []
    assert result.outputs == {"5": {"values": [4]}}
    assert len(reg["Add"].calls) == 3

    again, sink2 = run(executor, chain(5), prompt_id="p2")
    assert again.status == "success"
    assert again.executed == []
    assert again.cached == ["1", "2", "3", "4", "5"]
    assert len(reg["Add"].calls) == 3
    assert sink2.names() == [events.EXECUTION_START, events.EXECUTION_CACHED, events.EXECUTED, events.EXECUTION_SUCCESS]
    assert sink2.of(events.EXECUTED) == [{"node": "5", "display_node": "5", "output": {"values": [4]}, "prompt_id": "p2"}]
    assert again.outputs == {"5": {"values": [4]}}


def test_only_downstream_of_a_change_runs(reg):
    executor = Executor(reg)
    run(executor, chain(10))
    changed = chain(10)
    changed["6"]["inputs"]["b"] = 5
    result, sink = run(executor, changed)
    assert result.executed == ["6", "7", "8", "9", "10"]
    assert sink.of(events.EXECUTION_CACHED)[0]["nodes"] == ["1", "2", "3", "4", "5"]
    # the cached node feeding the change was visited, its upstream not needed
    assert result.outputs == {"10": {"values": [13]}}


def test_events_in_order_with_comfyui_shapes(reg):
    result, sink = run(Executor(reg), chain(3), prompt_id="abc")
    assert sink.names() == [
        events.EXECUTION_START,
        events.EXECUTION_CACHED,
        events.EXECUTING,
        events.EXECUTING,
        events.EXECUTING,
        events.EXECUTED,
        events.EXECUTION_SUCCESS,
    ]
    start = sink.of(events.EXECUTION_START)[0]
    assert start["prompt_id"] == "abc" and isinstance(start["timestamp"], int) and start["timestamp"] > 1e12
    assert sink.of(events.EXECUTION_CACHED)[0]["nodes"] == []
    assert [e["node"] for e in sink.of(events.EXECUTING)] == ["1", "2", "3"]
    assert sink.of(events.EXECUTING)[0] == {"node": "1", "display_node": "1", "prompt_id": "abc"}
    assert [m[0] for m in result.messages] == [events.EXECUTION_START, events.EXECUTION_CACHED, events.EXECUTION_SUCCESS]


def test_same_subgraph_under_other_ids_is_a_cache_hit(reg):
    executor = Executor(reg)
    run(executor, {"1": node("Int", value=3), "2": node("Save", value=["1", 0])})
    result, _ = run(executor, {"a": node("Int", value=3), "b": node("Save", value=["a", 0])})
    assert result.executed == [] and result.cached == ["a", "b"]


def test_reset_drops_the_cache(reg):
    executor = Executor(reg)
    run(executor, chain(3))
    executor.reset()
    assert run(executor, chain(3))[0].executed == ["1", "2", "3"]


def test_failing_node_keeps_other_cached_outputs(reg):
    state = {"broken": True}

    def flaky(ctx, a):
        if state["broken"]:
            raise RuntimeError("out of paint")
        return (a * 2,)

    reg.add(make("Flaky", [inp("a")], [out("INT")], flaky))
    executor = Executor(reg)
    prompt = {
        "1": node("Int", value=2),
        "2": node("Add", a=["1", 0], b=1),
        "3": node("Flaky", a=["2", 0]),
        "4": node("Save", value=["3", 0]),
    }
    result, sink = run(executor, prompt, prompt_id="e1")
    assert result.status == "error"
    err = result.error
    assert sink.of(events.EXECUTION_ERROR) == [err]
    assert err["prompt_id"] == "e1" and err["node_id"] == "3" and err["node_type"] == "Flaky"
    assert err["exception_message"] == "out of paint" and err["exception_type"] == "RuntimeError"
    assert isinstance(err["traceback"], list) and any("flaky" in line for line in err["traceback"])
    assert err["executed"] == ["1", "2"]
    assert err["current_inputs"] == {"a": [3]}
    assert err["current_outputs"] == ["1", "2"]
    assert isinstance(err["timestamp"], int)
    assert result.messages[-1] == (events.EXECUTION_ERROR, err)
    assert events.EXECUTION_SUCCESS not in sink.names()

    state["broken"] = False
    fixed, _ = run(executor, prompt)
    assert fixed.status == "success"
    assert fixed.executed == ["3", "4"]
    assert fixed.outputs == {"4": {"values": [6]}}


class Weird(BaseException):
    pass


@pytest.mark.parametrize("exc", [Weird("odd"), MemoryError(), ValueError("v"), GeneratorExit()])
def test_base_exceptions_become_errors(reg, exc):
    def boom(ctx):
        raise exc

    reg.add(make("Boom", [], [], boom, output_node=True))
    result, _ = run(Executor(reg), {"1": node("Boom")})
    assert result.status == "error" and result.error["node_id"] == "1"
    # the executor keeps working
    assert run(Executor(reg), chain(3))[0].status == "success"


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_propagate_after_the_error_event(reg, exc):
    def stop(ctx):
        raise exc()

    reg.add(make("Stop", [], [], stop, output_node=True))
    sink = ListSink()
    with pytest.raises(exc):
        Executor(reg).execute({"1": node("Stop")}, prompt_id="p", outputs=["1"], sink=sink)
    assert sink.names()[-1] == events.EXECUTION_ERROR


class RawReturn:
    """A NodeType whose execute returns something that is not a NodeOutput."""

    def schema(self):
        return make("Raw", [], [out("INT")]).schema()

    def fingerprint(self, inputs):
        return None

    def validate(self, inputs, input_types):
        return []

    def check_lazy_status(self, context, inputs):
        return []

    def execute(self, context, inputs):
        return (1,)


@pytest.mark.parametrize(
    ("run_node", "words"),
    [
        (lambda ctx: (1, 2), "returned 2 value(s) but declares 1"),
        (lambda ctx: NodeOutput(values=(1,), ui="bad"), "ui of a node result must be a dict"),
    ],
)
def test_node_contract_errors_are_reported(reg, run_node, words):
    reg.add(make("Odd", [], [out("INT")], run_node))
    result, _ = run(Executor(reg), {"1": node("Odd"), "2": node("Save", value=["1", 0])})
    assert result.status == "error" and result.error["node_id"] == "1"
    assert words in result.error["exception_message"]
    assert result.error["exception_type"] == "graph.node_call.NodeContractError"


def test_non_node_output_is_reported(reg):
    reg.types["Raw"] = RawReturn()
    result, _ = run(Executor(reg), {"1": node("Raw"), "2": node("Save", value=["1", 0])})
    assert result.status == "error" and "expected NodeOutput" in result.error["exception_message"]


def test_interrupt_between_nodes(reg):
    token = InterruptToken()

    def pull_plug(ctx, a):
        token.set()
        return (a,)

    reg.add(make("Plug", [inp("a")], [out("INT")], pull_plug))
    executor = Executor(reg)
    prompt = {"1": node("Int", value=1), "2": node("Plug", a=["1", 0]), "3": node("Add", a=["2", 0], b=1), "4": node("Save", value=["3", 0])}
    result, sink = run(executor, prompt, prompt_id="i1", interrupt=token)
    assert result.status == "interrupted"
    assert result.executed == ["1", "2"]
    data = sink.of(events.EXECUTION_INTERRUPTED)[0]
    assert data == result.error
    assert data["node_id"] == "3" and data["node_type"] == "Add" and data["executed"] == ["1", "2"]
    assert result.messages[-1][0] == events.EXECUTION_INTERRUPTED
    assert reg["Add"].calls == []
    # nothing already computed was lost
    token.clear()
    again, _ = run(executor, prompt, interrupt=token)
    assert again.status == "success" and again.executed == ["3", "4"]


def test_interrupt_inside_a_node_through_progress(reg):
    token = InterruptToken()

    def long_job(ctx):
        for step in range(100):
            ctx.progress(step + 1, 100)
        return (1,)

    reg.add(make("Long", [], [out("INT")], long_job))
    sink = ListSink()

    def interrupting_sink(event, data):
        sink(event, data)
        if event == events.PROGRESS and data["value"] == 3:
            token.set()

    checked = validate_prompt({"1": node("Long"), "2": node("Save", value=["1", 0])}, reg)
    result = Executor(reg).execute(checked.prompt, prompt_id="p", outputs=checked.outputs, sink=interrupting_sink, interrupt=token)
    assert result.status == "interrupted" and result.error["node_id"] == "1"
    assert [d["value"] for d in sink.of(events.PROGRESS)] == [1, 2, 3]
    assert sink.of(events.PROGRESS)[0] == {"value": 1, "max": 100, "prompt_id": "p", "node": "1"}


def test_preview_event(reg):
    frame = PreviewImage("JPEG", b"\xff\xd8")
    reg.add(make("Previewing", [], [out("INT")], lambda ctx: (ctx.progress(1, 2, frame), 7)[1:]))
    result, sink = run(Executor(reg), {"1": node("Previewing"), "2": node("Save", value=["1", 0])}, prompt_id="pv")
    assert result.status == "success"
    (preview,) = sink.of(events.PREVIEW)
    assert preview["image"] is frame and preview["node_id"] == "1" and preview["prompt_id"] == "pv"
    assert sink.names().index(events.PROGRESS) < sink.names().index(events.PREVIEW)


def test_context_and_hidden_inputs(reg):
    seen = {}

    def look(ctx, value, prompt, info, uid):
        seen.update(ctx=ctx, prompt=prompt, info=info, uid=uid)
        return NodeOutput((), None)

    reg.add(make("Look", [inp("value", "*")], [], look, output_node=True,
                 hidden=(("prompt", "PROMPT"), ("info", "EXTRA_PNGINFO"), ("uid", "UNIQUE_ID"))))
    runtime = object()
    checked = validate_prompt({"7": node("Look", value=1)}, reg)
    Executor(reg, runtime=runtime).execute(
        checked.prompt, prompt_id="ctx", outputs=["7"], extra_data={"extra_pnginfo": {"workflow": 1}}
    )
    ctx = seen["ctx"]
    assert (ctx.node_id, ctx.prompt_id, ctx.class_type, ctx.runtime) == ("7", "ctx", "Look", runtime)
    assert ctx.prompt is checked.prompt and ctx.extra_data == {"extra_pnginfo": {"workflow": 1}}
    assert seen["prompt"] is checked.prompt and seen["info"] == {"workflow": 1} and seen["uid"] == "7"


def test_interrupt_set_before_start_stops_before_the_first_node(reg):
    token = InterruptToken()
    token.set()
    result, sink = run(Executor(reg), chain(3), interrupt=token)
    assert result.status == "interrupted" and result.executed == [] and result.error["node_id"] == "1"
    assert events.EXECUTING not in sink.names()


def test_broken_sink_does_not_break_execution(reg):
    def sink(event, data):
        raise OSError("socket closed")

    checked = validate_prompt(chain(3), reg)
    result = Executor(reg).execute(checked.prompt, prompt_id="p", outputs=checked.outputs, sink=sink)
    assert result.status == "success" and result.executed == ["1", "2", "3"]


def test_unvalidated_problems_become_errors_not_exceptions(reg):
    executor = Executor(reg)
    unknown = executor.execute({"1": node("Nope")}, prompt_id="p", outputs=["1"])
    assert unknown.status == "error" and "Nope" in unknown.error["exception_message"]
    cycle = {"1": node("Add", a=["2", 0], b=1), "2": node("Add", a=["1", 0], b=1), "3": node("Save", value=["2", 0])}
    looped = executor.execute(cycle, prompt_id="p", outputs=["3"])
    assert looped.status == "error"
    assert looped.error["exception_type"] == "graph.plan.DependencyCycleError"
    assert looped.error["node_id"] == "1"
    assert executor.execute({}, prompt_id="p", outputs=["x"]).status == "success"


def test_preview_plan(reg):
    executor = Executor(reg)
    assert executor.preview_plan(chain(4), ["4"]) == {"run": ["1", "2", "3", "4"], "cached": []}
    run(executor, chain(4))
    changed = chain(4)
    changed["3"]["inputs"]["b"] = 9
    assert executor.preview_plan(changed, ["4"]) == {"run": ["3", "4"], "cached": ["1", "2"]}
    assert executor.preview_plan(chain(4), ["4"]) == {"run": [], "cached": ["1", "2", "3", "4"]}
    assert len(reg["Add"].calls) == 2


def test_output_node_with_two_ui_runs_once_and_merges(reg):
    reg.add(make("Many", [], [], lambda ctx: NodeOutput((), {"images": [1, 2], "text": "t"}), output_node=True))
    result, sink = run(Executor(reg), {"1": node("Many")})
    assert result.outputs == {"1": {"images": [1, 2], "text": ["t"]}}


def test_tiny_cache_still_runs_the_whole_prompt(reg):
    from graph.cache import LRUPolicy, OutputCache

    executor = Executor(reg, cache=OutputCache(LRUPolicy(max_entries=1)))
    first, _ = run(executor, chain(6))
    assert first.status == "success" and first.outputs == {"6": {"values": [5]}}
    again, _ = run(executor, chain(6))
    assert again.cached == ["6"] and again.executed == []
    changed = chain(6)
    changed["3"]["inputs"]["b"] = 2
    third, _ = run(executor, changed)
    assert third.executed == ["1", "2", "3", "4", "5", "6"]


def test_interrupt_from_another_thread(reg):
    import threading

    token = InterruptToken()
    started = threading.Event()

    def wait_for_stop(ctx):
        started.set()
        for step in range(100_000):
            ctx.progress(step, 100_000)
            started.wait(0.001)
        return (1,)

    reg.add(make("Slow", [], [out("INT")], wait_for_stop))
    stopper = threading.Thread(target=lambda: (started.wait(10), token.set()))
    stopper.start()
    checked = validate_prompt({"1": node("Slow"), "2": node("Save", value=["1", 0])}, reg)
    result = Executor(reg).execute(checked.prompt, prompt_id="t", outputs=checked.outputs, interrupt=token)
    stopper.join(10)
    assert result.status == "interrupted" and result.error["node_id"] == "1"


def test_undeclared_inputs_are_not_passed(reg):
    result, _ = run(Executor(reg), {"1": node("Int", value=4, junk="x"), "2": node("Save", value=["1", 0])})
    assert result.status == "success"
    assert reg["Int"].calls == [{"value": 4}]


def test_optional_absent_input_not_passed_and_dynprompt_filled(reg):
    seen = {}

    def look(ctx, **kwargs):
        seen.update(kwargs)
        return NodeOutput((), None)

    reg.add(make("Opt", [inp("x", required=False)], [], look, output_node=True,
                 hidden=(("dyn", "DYNPROMPT"), ("token", "AUTH_TOKEN_COMFY_ORG"))))
    checked = validate_prompt({"1": node("Opt")}, reg)
    Executor(reg).execute(checked.prompt, prompt_id="p", outputs=["1"], extra_data={"auth_token_comfy_org": "t"})
    assert seen == {"dyn": checked.prompt, "token": "t"}


def test_long_chain_executes_without_recursion(reg):
    result, _ = run(Executor(reg), chain(5000))
    assert result.status == "success" and len(result.executed) == 5000
    assert result.outputs == {"5000": {"values": [4999]}}
