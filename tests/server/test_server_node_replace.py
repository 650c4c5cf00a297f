"""Node replacement on the real server (ComfyUI v0.46): a pack in custom_nodes registers
`io.NodeReplace` from its V3 `on_load` through `comfy_api.latest.ComfyAPI`; GET /node_replacements
lists it; a prompt (POST /prompt, POST /api/v2/jobs, POST /plan) naming the deprecated class runs as the
new one, with its inputs renamed and its links moved, and the answer says which nodes were replaced."""

from __future__ import annotations

import pytest
from server_harness import LiveServer, simple_prompt

import graph.executor as executor_module
import graph.validate as validate
from graph.node_replace import NODE_REPLACEMENTS, NodeReplace
from nodes.api.plugins import load_custom_nodes
from nodes.api.registry import NodeRegistry
from nodes.api.runtime import NodeRuntime
from server.pack_server import PromptServer

# NewCount's outputs are (INT, STRING); the deprecated OldCount had them as (STRING, INT) and called
# its input `number`, so a saved prompt links OldCount's slot 0 to Say and slot 1 to Twice.
PACK = '''
from comfy_api.latest import ComfyAPI, ComfyAPISync, ComfyExtension, io, ui

api = ComfyAPI()


class NewCount(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="NewCount", category="testing/replace",
                         inputs=[io.Int.Input("value", default=1), io.String.Input("unit", default="")],
                         outputs=[io.Int.Output(), io.String.Output()])

    @classmethod
    def execute(cls, value, unit):
        return io.NodeOutput(value, f"{value} {unit}")


class Twice(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="Twice", category="testing/replace", inputs=[io.Int.Input("value", force_input=True)],
                         outputs=[io.String.Output()])

    @classmethod
    def execute(cls, value):
        return io.NodeOutput(str(value * 2))


class Say(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="Say", category="testing/replace", is_output_node=True,
                         inputs=[io.String.Input("text", force_input=True)], outputs=[])

    @classmethod
    def execute(cls, text):
        return io.NodeOutput(ui=ui.PreviewText(text))


class Extension(ComfyExtension):
    async def on_load(self):
        await api.node_replacement.register(io.NodeReplace(
            new_node_id="NewCount", old_node_id="OldCount", old_widget_ids=["number"],
            input_mapping=[{"new_id": "value", "old_id": "number"}, {"new_id": "unit", "set_value": "apples"}],
            output_mapping=[{"old_idx": 0, "new_idx": 1}, {"old_idx": 1, "new_idx": 0}]))
        ComfyAPISync().node_replacement.register(io.NodeReplace(new_node_id="OldCount", old_node_id="AncientCount"))

    async def get_node_list(self):
        return [NewCount, Twice, Say]


async def comfy_entrypoint():
    return Extension()
'''


def old_prompt(class_type: str = "OldCount") -> dict:
    return {"1": {"class_type": class_type, "inputs": {"number": 3}, "_meta": {"title": "Count"}},
            "2": {"class_type": "Say", "inputs": {"text": ["1", 0]}},
            "3": {"class_type": "Twice", "inputs": {"value": ["1", 1]}},
            "4": {"class_type": "Say", "inputs": {"text": ["3", 0]}}}


@pytest.fixture
def pack_server(tmp_path, monkeypatch):
    monkeypatch.setattr(PromptServer, "instance", PromptServer())
    packs = tmp_path / "custom_nodes"
    (packs / "replacing_pack").mkdir(parents=True)
    (packs / "replacing_pack" / "__init__.py").write_text(PACK)
    runtime = NodeRuntime.for_directory(tmp_path)
    runtime.folders.ensure_dirs()
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [packs], runtime)
    assert not report.failed and report.pack("replacing_pack").node_ids == ["NewCount", "Twice", "Say"]
    server = LiveServer(tmp_path, registry=registry, runtime=runtime,
                        executor=executor_module.Executor(registry, runtime=runtime),
                        validator=validate.validate_prompt)
    yield server
    server.stop()
    for old in ("OldCount", "AncientCount"):
        NODE_REPLACEMENTS.unregister(old)


def test_the_packs_replacements_are_listed(pack_server):
    status, body = pack_server.json("GET", "/api/node_replacements")
    assert status == 200
    assert body["OldCount"] == [{
        "new_node_id": "NewCount", "old_node_id": "OldCount", "old_widget_ids": ["number"],
        "input_mapping": [{"new_id": "value", "old_id": "number"}, {"new_id": "unit", "set_value": "apples"}],
        "output_mapping": [{"old_idx": 0, "new_idx": 1}, {"old_idx": 1, "new_idx": 0}]}]
    assert body["AncientCount"][0]["new_node_id"] == "OldCount"
    assert pack_server.json("GET", "/node_replacements") == (200, body)


@pytest.mark.parametrize("class_type", ["OldCount", "AncientCount"])  # AncientCount -> OldCount -> NewCount
def test_a_prompt_with_the_deprecated_type_runs_as_the_new_one(pack_server, class_type):
    answer = pack_server.queue_prompt(old_prompt(class_type))
    assert answer["node_replacements"] == [{"node_id": "1", "old_class_type": class_type,
                                            "new_class_type": "NewCount"}]
    entry = pack_server.wait_done(answer["prompt_id"])
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert entry["outputs"]["2"] == {"text": ["3 apples"]}  # old slot 0 (the text) is the new slot 1
    assert entry["outputs"]["4"] == {"text": ["6"]}
    queued = entry["prompt"][2]["1"]  # the history keeps the prompt as it ran
    assert queued["class_type"] == "NewCount" and queued["inputs"] == {"value": 3, "unit": "apples"}


def test_a_prompt_without_deprecated_types_has_no_replacement_field(pack_server):
    prompt = {"1": {"class_type": "NewCount", "inputs": {"value": 2, "unit": "x"}},
              "2": {"class_type": "Say", "inputs": {"text": ["1", 1]}}}
    assert "node_replacements" not in pack_server.queue_prompt(prompt)


def test_v2_jobs_and_plan_apply_the_replacements_too(pack_server):
    status, job = pack_server.json("POST", "/api/v2/jobs", {"workflow": old_prompt()})
    assert status == 201, job
    entry = pack_server.wait_done(job["id"])
    assert entry["status"]["status_str"] == "success" and entry["outputs"]["4"] == {"text": ["6"]}
    status, plan = pack_server.json("POST", "/plan", {"prompt": old_prompt()})
    assert status == 200 and sorted(plan["run"] + plan["cached"]) == ["1", "2", "3", "4"]


def test_a_replacement_to_a_class_that_is_not_installed_is_a_clear_error(live):
    NODE_REPLACEMENTS.register(NodeReplace(new_node_id="NotInstalled", old_node_id="OldConst"))
    try:
        prompt = simple_prompt()
        prompt["1"]["class_type"] = "OldConst"
        status, body = live.json("POST", "/prompt", {"prompt": prompt})
        assert status == 400
        assert body["error"]["type"] == "missing_node_type"
        assert body["error"]["message"] == ("Node 'OldConst' is replaced by 'NotInstalled' (OldConst -> "
                                            "NotInstalled), which is not installed. The custom node that provides "
                                            "it may be missing.")
        assert body["error"]["extra_info"] == {"node_id": "1", "class_type": "OldConst", "node_title": "OldConst",
                                               "replaced_by": ["NotInstalled"]}
        status, body = live.json("POST", "/api/v2/jobs", {"workflow": prompt})
        assert status == 422 and body["error"]["code"] == "invalid_workflow"
        assert "replaced by 'NotInstalled'" in body["error"]["message"]
    finally:
        NODE_REPLACEMENTS.unregister("OldConst")
