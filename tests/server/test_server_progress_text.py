"""Progress text: NodeContext.progress_text -> the executor's progress_text event -> ComfyUI's
binary type-3 frame (`uint32 BE 3`, `uint32 BE len(node_id)`, node_id, text)."""

from __future__ import annotations

import struct
import uuid

import pytest
from real_engine_harness import SayLines, real_server, run_and_collect, text_frames

from graph import events
from graph.context import NodeContext
from graph.events import ListSink
from graph.executor import Executor
from server.ws import progress_text_frame


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    server = real_server(tmp_path_factory.mktemp("text"), extra_nodes=[SayLines])
    yield server
    server.stop()


def say_prompt(text: str, node_id: str = "7") -> dict:
    return {node_id: {"class_type": "TestSayLines", "inputs": {"text": text}},
            "9": {"class_type": "PreviewAny", "inputs": {"source": [node_id, 0]}}}


def test_frame_layout_counts_node_id_bytes_not_characters():
    frame = progress_text_frame("nœud:5", "étape ✓")
    node = "nœud:5".encode()
    assert frame[:8] == struct.pack(">II", 3, len(node)) and len(node) == 7
    assert frame[8:8 + len(node)] == node and frame[8 + len(node):] == "étape ✓".encode()
    assert progress_text_frame("1", "") == struct.pack(">II", 3, 1) + b"1"
    # Lone surrogates (possible in Python strings) never make encoding fail.
    assert progress_text_frame("1", "bad \ud800 text").endswith(b"bad ? text")


def test_node_text_reaches_its_client_as_type3_frames_in_order(real):
    _, messages = run_and_collect(real, say_prompt("loading|step 1/2|ünïcode ✓"), uuid.uuid4().hex)
    assert text_frames(messages) == [("7", "loading"), ("7", "step 1/2"), ("7", "ünïcode ✓")]
    kinds = [m if isinstance(m, bytes) else m["type"] for m in messages]
    first_text = next(i for i, k in enumerate(kinds) if isinstance(k, bytes))
    executing = [i for i, m in enumerate(messages) if isinstance(m, dict) and m["type"] == "executing"
                 and m["data"]["node"] == "7"]
    assert executing and executing[0] < first_text  # text follows its node's start


def test_text_reaches_clients_that_announced_preview_metadata_too(real):
    flags = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
    _, messages = run_and_collect(real, say_prompt("with flags", node_id="12"), uuid.uuid4().hex,
                                  first_message=flags)
    assert text_frames(messages) == [("12", "with flags")]


def test_text_without_client_id_is_broadcast_and_others_prompts_are_private(real):
    _, messages = run_and_collect(real, say_prompt("for everyone"), uuid.uuid4().hex, queue_client_id=None)
    assert text_frames(messages) == [("7", "for everyone")]
    _, messages = run_and_collect(real, say_prompt("for someone"), uuid.uuid4().hex, queue_client_id="someone")
    assert text_frames(messages) == []


def test_cached_node_sends_no_text_again(real):
    cid = uuid.uuid4().hex
    run_and_collect(real, say_prompt("only once"), cid)
    _, messages = run_and_collect(real, say_prompt("only once"), cid)
    assert text_frames(messages) == []


# ---------------------------------------------------------------------------------------- graph level
def test_executor_emits_progress_text_events_from_the_node_context(tmp_path):
    import nodes.api.runtime as runtime_module
    import nodes.build as registry_module
    from nodes.api.declare import DeclaredNodeType

    runtime = runtime_module.NodeRuntime.for_directory(tmp_path)
    registry, _ = registry_module.build_registry(runtime, [])
    registry.register(DeclaredNodeType(SayLines, runtime), source="tests")
    sink = ListSink()
    result = Executor(registry, runtime=runtime).execute(say_prompt("a|b"), prompt_id="p1", outputs=["9"], sink=sink)
    assert result.status == "success"
    assert sink.of(events.PROGRESS_TEXT) == [{"node_id": "7", "text": "a", "prompt_id": "p1"},
                                             {"node_id": "7", "text": "b", "prompt_id": "p1"}]
    names = sink.names()
    assert names.index(events.EXECUTING) < names.index(events.PROGRESS_TEXT) < names.index(events.EXECUTION_SUCCESS)


def test_context_without_a_text_channel_discards_text_and_text_is_stringified():
    NodeContext(node_id="1", prompt_id="p").progress_text("nobody listens")  # no error
    received = []
    NodeContext(node_id="3", prompt_id="p", on_text=lambda *a: received.append(a)).progress_text(42)
    assert received == [("3", "42")]
