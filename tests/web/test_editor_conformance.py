"""The editor and the server's converter agree: a UI workflow with a Reroute, a bypassed node,
a muted node, a PrimitiveNode driving a converted widget and a Note exports (in the browser) the
same API prompt as `main.py convert --to api`; and the workflow the editor saves converts to that
prompt too."""

from __future__ import annotations

import json
import subprocess
import sys

from playwright.sync_api import expect

from .conftest import ROOT
from .editor_actions import exported_prompt, open_workflow_file, saved_workflow


def _slot(name, type_, link, widget=None):
    return {"name": name, "type": type_, "link": link, **({"widget": {"name": widget}} if widget else {})}


def _out(name, type_, links, widget=None):
    return {"name": name, "type": type_, "links": links, **({"widget": {"name": widget}} if widget else {})}


def _node(id_, type_, x, y, *, mode=0, inputs=(), outputs=(), values=None):
    return {
        "id": id_,
        "type": type_,
        "pos": [x, y],
        "size": [300, 100],
        "flags": {},
        "order": id_,
        "mode": mode,
        "inputs": list(inputs),
        "outputs": list(outputs),
        "properties": {},
        **({"widgets_values": values} if values is not None else {}),
    }


WORKFLOW = {
    "last_node_id": 11,
    "last_link_id": 8,
    "version": 0.4,
    "groups": [],
    "config": {},
    "extra": {},
    "nodes": [
        _node(1, "PrimitiveString", 0, 0, outputs=[_out("STRING", "STRING", [1, 5])], values=["hello"]),
        _node(2, "Reroute", 350, 0, inputs=[_slot("", "*", 1)], outputs=[_out("", "STRING", [2])]),
        _node(
            3,
            "StringReplace",
            500,
            0,
            mode=4,
            inputs=[_slot("string", "STRING", 2, "string")],
            outputs=[_out("STRING", "STRING", [3])],
            values=["", "l", "L"],
        ),
        _node(
            4,
            "StringConcatenate",
            900,
            0,
            inputs=[_slot("string_a", "STRING", 3, "string_a"), _slot("string_b", "STRING", 6, "string_b")],
            outputs=[_out("STRING", "STRING", [4])],
            values=["", "", "-"],
        ),
        _node(5, "PreviewAny", 1300, 0, inputs=[_slot("source", "*", 4)], outputs=[_out("STRING", "STRING", [])]),
        _node(6, "PrimitiveNode", 500, 300, outputs=[_out("STRING", "STRING", [6], "string_b")], values=["world"]),
        _node(
            7,
            "StringLength",
            350,
            500,
            mode=2,
            inputs=[_slot("string", "STRING", 5, "string")],
            outputs=[_out("INT", "INT", [7])],
            values=[""],
        ),
        _node(
            8,
            "IntMath",
            700,
            500,
            inputs=[_slot("a", "INT", 7, "a")],
            outputs=[_out("INT", "INT", [8])],
            values=[0, 2, "add"],
        ),
        _node(9, "PreviewAny", 1100, 500, inputs=[_slot("source", "*", 8)], outputs=[_out("STRING", "STRING", [])]),
        _node(10, "Note", 0, 700, values=["a note"]),
        _node(11, "PrimitiveInt", 0, 900, outputs=[_out("INT", "INT", [])], values=[7, "fixed"]),
    ],
    "links": [
        [1, 1, 0, 2, 0, "STRING"],
        [2, 2, 0, 3, 0, "STRING"],
        [3, 3, 0, 4, 0, "STRING"],
        [4, 4, 0, 5, 0, "STRING"],
        [5, 1, 0, 7, 0, "STRING"],
        [6, 6, 0, 4, 1, "STRING"],
        [7, 7, 0, 8, 0, "INT"],
        [8, 8, 0, 9, 0, "INT"],
    ],
}


def _server_convert(path, base) -> dict:
    out = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "convert", "--to", "api", "--base-directory", str(base), str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(out.stdout)


def test_editor_and_server_export_the_same_api_prompt(page, server, tmp_path):
    path = tmp_path / "conformance.json"
    path.write_text(json.dumps(WORKFLOW))
    open_workflow_file(page, path)
    expect(page.locator(".react-flow__node")).to_have_count(11)
    ours = exported_prompt(page)
    assert sorted(ours, key=int) == ["1", "4", "5", "8", "9", "11"]
    assert ours["4"]["inputs"] == {"string_a": ["1", 0], "string_b": "world", "delimiter": "-"}
    assert ours["8"]["inputs"] == {"b": 2, "operation": "add"}
    assert ours == _server_convert(path, server.base)
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(saved_workflow(page)))
    assert _server_convert(saved, server.base) == ours
