"""The real commands in a subprocess: run, validate, nodes, convert (issue: the graph engine, main.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEXT_WORKFLOW = ROOT / "workflows" / "text_pipeline_api.json"


def cli(*args: str, base: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "main.py"), *args, "--base-directory", str(base)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_run_api_workflow_prints_written_file(tmp_path):
    proc = cli("run", str(TEXT_WORKFLOW), "--quiet", base=tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = [Path(line) for line in proc.stdout.split()]
    assert len(written) == 1
    assert written[0].parent == tmp_path / "output"
    assert written[0].name == "text_pipeline_00001_.txt"
    assert written[0].read_text(encoding="utf-8") == "hello, world"


def test_run_set_overrides_inputs_json_or_string(tmp_path):
    proc = cli(
        "run", str(TEXT_WORKFLOW), "--quiet",
        "--set", "1.value=goodbye",          # not JSON: taken as a plain string
        "--set", '3.delimiter=" & "',        # JSON string
        "--set", "5.filename_prefix=sub/renamed",
        base=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (path,) = [Path(line) for line in proc.stdout.split()]
    assert path == tmp_path / "output" / "sub" / "renamed_00001_.txt"
    assert path.read_text(encoding="utf-8") == "goodbye & world"


def test_run_set_unknown_node_is_a_clear_error(tmp_path):
    proc = cli("run", str(TEXT_WORKFLOW), "--set", "99.value=1", base=tmp_path)
    assert proc.returncode == 1
    assert "no node '99'" in proc.stderr
    assert_no_traceback(proc)


def test_run_invalid_value_reports_node_and_input(tmp_path):
    proc = cli("run", str(TEXT_WORKFLOW), "--set", "4.operation=cube_root", base=tmp_path)
    assert proc.returncode == 1
    assert "node 4 (IntMath) input 'operation'" in proc.stderr
    assert "value_not_in_list" in proc.stderr
    assert_no_traceback(proc)


def test_run_failing_node_exits_1_with_node_named(tmp_path):
    proc = cli("run", str(TEXT_WORKFLOW), "--set", "4.operation=divide", "--set", "4.b=0", base=tmp_path)
    assert proc.returncode == 1
    assert "node 4 (IntMath) failed" in proc.stderr
    assert_no_traceback(proc)


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "JSON"),
        ("[1, 2, 3]", ""),
        ('{"1": {"class_type": "NoSuchNode", "inputs": {}}}', "NoSuchNode"),
    ],
)
def test_run_bad_documents_fail_cleanly(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    proc = cli("run", str(path), base=tmp_path)
    assert proc.returncode == 1
    assert fragment in proc.stderr
    assert proc.stderr.strip(), "a failure must say why"
    assert_no_traceback(proc)


def test_run_missing_file(tmp_path):
    proc = cli("run", str(tmp_path / "nope.json"), base=tmp_path)
    assert proc.returncode == 1
    assert "no such file" in proc.stderr
    assert_no_traceback(proc)


def test_validate_reports_every_error_and_json_shape(tmp_path):
    doc = json.loads(TEXT_WORKFLOW.read_text())
    doc["3"]["inputs"]["string_a"] = ["42", 0]  # link to a missing node
    doc["4"]["inputs"]["a"] = "abc"  # not an INT
    path = write_json(tmp_path / "broken.json", doc)
    proc = cli("validate", str(path), base=tmp_path)
    assert proc.returncode == 1
    assert "node 3 (StringConcatenate) input 'string_a'" in proc.stdout
    assert "node 4 (IntMath) input 'a'" in proc.stdout

    proc = cli("validate", str(path), "--json", base=tmp_path)
    assert proc.returncode == 1
    body = json.loads(proc.stdout)
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    assert set(body["node_errors"]) == {"3", "4"}
    types = {e["type"] for e in body["node_errors"]["4"]["errors"]}
    assert types == {"invalid_input_type"}
    assert body["node_errors"]["3"]["class_type"] == "StringConcatenate"


def test_validate_valid_workflow(tmp_path):
    proc = cli("validate", str(TEXT_WORKFLOW), base=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok:")


def test_nodes_lists_and_exports_object_info(tmp_path):
    proc = cli("nodes", base=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "PrimitiveString" in proc.stdout
    proc = cli("nodes", "--json", base=tmp_path)
    info = json.loads(proc.stdout)
    node = info["StringConcatenate"]
    assert node["input_order"]["required"] == ["string_a", "string_b", "delimiter"]
    assert node["output"] == ["STRING"]
    assert info["SaveText"]["output_node"] is True


def test_convert_round_trip_and_run_ui_format(tmp_path):
    ui_path = tmp_path / "workflow_ui.json"
    proc = cli("convert", str(TEXT_WORKFLOW), "--to", "ui", "-o", str(ui_path), base=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ui = json.loads(ui_path.read_text())
    assert isinstance(ui["nodes"], list) and isinstance(ui["links"], list)

    proc = cli("convert", str(ui_path), "--to", "api", base=tmp_path)
    assert proc.returncode == 0, proc.stderr
    original = json.loads(TEXT_WORKFLOW.read_text())
    assert json.loads(proc.stdout) == original

    proc = cli("run", str(ui_path), "--quiet", base=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (path,) = [Path(line) for line in proc.stdout.split()]
    assert path.read_text(encoding="utf-8") == "hello, world"


def test_unknown_command_and_help(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0
    for name in ("run", "validate", "nodes", "convert"):
        assert name in proc.stdout
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "frobnicate"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2


def test_run_shows_progress_per_node(tmp_path):
    proc = cli("run", str(TEXT_WORKFLOW), base=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "running #3 Join" in proc.stderr
    assert "running #5 Save Text" in proc.stderr
    # the second run of the same workflow in a new process starts cold: nothing cached across processes
    assert "cached" not in proc.stderr


def _image_workflow(tmp_path: Path) -> Path:
    doc = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 16, "height": 8, "batch_size": 1, "color": 0xFF0000}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "red"}},
    }
    return write_json(tmp_path / "image.json", doc)


@pytest.mark.parametrize("flag, has_prompt", [((), True), (("--disable-metadata",), False)])
def test_run_saves_png_with_or_without_metadata(tmp_path, flag, has_prompt):
    from PIL import Image

    proc = cli("run", str(_image_workflow(tmp_path)), "--quiet", *flag, base=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (path,) = [Path(line) for line in proc.stdout.split()]
    with Image.open(path) as img:
        assert img.size == (16, 8)
        assert img.getpixel((0, 0))[:3] == (255, 0, 0)
        assert ("prompt" in img.text) is has_prompt
        if has_prompt:
            assert json.loads(img.text["prompt"])["2"]["class_type"] == "SaveImage"


def test_progress_sink_prints_node_text(capsys):
    import io

    from app.progress import TerminalProgress

    stream = io.StringIO()
    sink = TerminalProgress({"7": {"class_type": "Talk", "_meta": {"title": "Talker"}}}, stream=stream)
    sink("progress_text", {"node_id": "7", "text": "loading weights", "prompt_id": "p"})
    sink("progress", {"node": "7", "value": 1, "max": 2, "prompt_id": "p"})
    sink("progress_text", {"node_id": "7", "text": "half way", "prompt_id": "p"})
    sink.close()
    text = stream.getvalue()
    assert "#7 Talker: loading weights" in text and "#7 Talker: half way" in text
