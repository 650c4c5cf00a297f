"""Packs using comfy.utils.ProgressBar, comfy.model_management's interrupt, comfy_execution's
ExecutionBlocker and GraphBuilder, loaded by build_registry and run through graph.executor.Executor."""

from __future__ import annotations

import threading

import pytest

from graph import events
from graph.context import InterruptToken
from graph.events import ListSink
from graph.executor import Executor
from graph.schema import InputSpec, NodeOutput, NodeSchema, OutputSpec
from graph.validate import validate_prompt
from nodes.api.runtime import NodeRuntime
from nodes.build import build_registry
from nodes.compat import aliases

PACK = '''
import threading

import comfy.model_management
import comfy.utils
from comfy_execution.graph import ExecutionBlocker

POLLING = threading.Event()
SEEN_INTERRUPT = []


class CountUp:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"steps": ("INT", {"default": 3, "min": 1, "max": 10})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "test"

    def run(self, steps):
        bar = comfy.utils.ProgressBar(steps)
        for _ in range(steps):
            bar.update(1)
        bar.update_absolute(steps, steps)
        return (steps,)


class PollUntilInterrupted:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 0})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "test"

    def run(self, value):
        for _ in range(100000):
            if comfy.model_management.processing_interrupted():
                SEEN_INTERRUPT.append(True)
            comfy.model_management.throw_exception_if_processing_interrupted()
            POLLING.set()
            threading.Event().wait(0.005)
        return (value,)


class Gate:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 0}), "open": ("BOOLEAN", {"default": True}),
                             "message": ("STRING", {"default": ""})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "test"

    def run(self, value, open, message):
        return (value if open else ExecutionBlocker(message or None),)


class Show:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"forceInput": True})}}

    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = "test"

    def run(self, value):
        return {"ui": {"text": [str(value)]}}


class AddOne:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"forceInput": True})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "test"

    def run(self, value):
        return (value + 1,)


NODE_CLASS_MAPPINGS = {"CountUp": CountUp, "PollUntilInterrupted": PollUntilInterrupted, "Gate": Gate,
                       "Show": Show, "AddOne": AddOne}
'''


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """The registry with the pack loaded, and the pack's module globals."""
    base = tmp_path_factory.mktemp("compat_exec")
    runtime = NodeRuntime.for_directory(base / "base")
    runtime.folders.ensure_dirs()
    (base / "custom_nodes" / "compat_exec_pack").mkdir(parents=True)
    (base / "custom_nodes" / "compat_exec_pack" / "__init__.py").write_text(PACK)
    registry, report = build_registry(runtime, [base / "custom_nodes"])
    assert report.pack("compat_exec_pack") is not None, report.messages
    yield registry, registry.get("PollUntilInterrupted").cls.run.__globals__
    aliases.uninstall()


def run(registry, prompt, **kwargs):
    checked = validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    sink = ListSink()
    result = Executor(registry).execute(checked.prompt, prompt_id="p1", outputs=checked.outputs, sink=sink, **kwargs)
    return result, sink


def test_a_progress_bar_reports_progress_of_the_running_node(pack):
    registry, _ = pack
    result, sink = run(registry, {"1": {"class_type": "CountUp", "inputs": {"steps": 3}},
                                  "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}})
    assert result.status == "success", result.error
    progress = [(d["node"], d["value"], d["max"]) for e, d in sink.events if e == events.PROGRESS]
    assert progress == [("1", 1, 3), ("1", 2, 3), ("1", 3, 3), ("1", 3, 3)]


def test_an_interrupt_stops_a_node_that_polls_for_it(pack):
    registry, pack_globals = pack
    token = InterruptToken()
    outcome = {}
    prompt = {"1": {"class_type": "PollUntilInterrupted", "inputs": {"value": 1}},
              "2": {"class_type": "Show", "inputs": {"value": ["1", 0]}}}

    def execute():
        outcome["result"], outcome["sink"] = run(registry, prompt, interrupt=token)

    worker = threading.Thread(target=execute)
    worker.start()
    assert pack_globals["POLLING"].wait(30)
    token.set()  # what the server's /interrupt does through the worker
    worker.join(30)
    result, sink = outcome["result"], outcome["sink"]
    assert result.status == "interrupted" and result.error["node_id"] == "1"
    assert pack_globals["SEEN_INTERRUPT"] == [True]
    assert [e for e, _ in sink.events][-1] == events.EXECUTION_INTERRUPTED


def gated(open_, message=""):
    return {"1": {"class_type": "Gate", "inputs": {"value": 5, "open": open_, "message": message}},
            "2": {"class_type": "AddOne", "inputs": {"value": ["1", 0]}},
            "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}}


def test_an_execution_blocker_stops_its_branch_silently_or_with_an_error(pack):
    registry, _ = pack
    result, _ = run(registry, gated(True))
    assert result.outputs == {"3": {"text": ["6"]}}
    result, sink = run(registry, gated(False))
    assert result.status == "success" and result.outputs == {}
    assert not [d for e, d in sink.events if e == events.EXECUTED]
    result, _ = run(registry, gated(False, "the gate is closed"))
    assert result.status == "error" and result.error["node_id"] == "2"
    assert result.error["exception_message"] == "Execution Blocked: the gate is closed"


class AddThree:
    """A node type that expands, with comfy_execution's GraphBuilder, into three of the pack's AddOne."""

    def schema(self):
        return NodeSchema("AddThree", inputs=(InputSpec("value", "INT"),), outputs=(OutputSpec("INT", "INT"),))

    def fingerprint(self, inputs):
        return None

    def validate(self, inputs, input_types):
        return []

    def check_lazy_status(self, context, inputs):
        return []

    def execute(self, context, inputs):
        from comfy_execution.graph_utils import GraphBuilder, is_link

        graph = GraphBuilder()
        node = graph.node("AddOne", value=inputs["value"])
        for _ in range(2):
            node = graph.node("AddOne", value=node.out(0))
        assert is_link(node.out(0)) and node.id.startswith(context.node_id + ".")
        return NodeOutput(values=(node.out(0),), expand=graph.finalize())


def test_a_graph_builder_expansion_runs_its_subgraph(pack):
    registry, _ = pack
    registry.register(AddThree())
    result, _ = run(registry, {"1": {"class_type": "Gate", "inputs": {"value": 5, "open": True, "message": ""}},
                               "2": {"class_type": "AddThree", "inputs": {"value": ["1", 0]}},
                               "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}})
    assert result.status == "success", result.error
    assert result.outputs == {"3": {"text": ["8"]}}
    assert len([n for n in result.executed if n.startswith("2.")]) == 3


def test_graph_builder_ids_links_and_finalize():
    from nodes.compat.comfy_execution.graph_utils import GraphBuilder

    graph = GraphBuilder(prefix="x.")
    first = graph.node("Int", "a", value=1)
    second = graph.node("Add", a=first.out(0), b=2)
    graph.node("Int", "a", value=7)  # same id: updates the inputs
    assert graph.lookup_node("a") is first and first.inputs == {"value": 7}
    assert graph.finalize() == {"x.a": {"class_type": "Int", "inputs": {"value": 7}},
                                "x.0": {"class_type": "Add", "inputs": {"a": ["x.a", 0], "b": 2}}}
    graph.replace_node_output("a", 0, 3)
    assert second.inputs == {"a": 3, "b": 2}
    assert GraphBuilder().prefix != GraphBuilder().prefix
