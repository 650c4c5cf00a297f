"""Reading workflow documents: limits, format detection, loading, writing."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ui_stub_registry import StubRegistry  # noqa: E402

from graph.document import (  # noqa: E402
    MAX_JSON_DEPTH,
    MAX_WORKFLOW_BYTES,
    WorkflowError,
    detect_format,
    dump_api,
    load_workflow,
    parse_workflow_text,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_parses_str_and_bytes_with_bom():
    assert parse_workflow_text('{"a": 1}') == {"a": 1}
    assert parse_workflow_text(b'\xef\xbb\xbf{"a": [1, 2]}') == {"a": [1, 2]}
    assert parse_workflow_text(bytearray(b'{"x": "\xc3\xa9"}')) == {"x": "é"}


def test_deeply_nested_array_is_refused_quickly_and_clearly():
    text = "[" * (10 * 1024 * 1024)
    with pytest.raises(WorkflowError, match=f"nested more than {MAX_JSON_DEPTH} levels"):
        parse_workflow_text(text)


def test_nesting_just_under_the_limit_is_fine_and_brackets_in_strings_do_not_count():
    depth = MAX_JSON_DEPTH - 1
    doc = parse_workflow_text('{"a": ' + "[" * depth + "]" * depth + ', "s": "' + "[" * 5000 + '"}')
    assert doc["s"] == "[" * 5000


def test_nesting_over_the_limit_inside_objects():
    depth = MAX_JSON_DEPTH + 1
    with pytest.raises(WorkflowError, match="nested"):
        parse_workflow_text('{"a": ' * depth + "1" + "}" * depth)


def test_size_cap(monkeypatch):
    monkeypatch.setattr("graph.document.MAX_WORKFLOW_BYTES", 100)
    with pytest.raises(WorkflowError, match="limit is 100 bytes"):
        parse_workflow_text(b"{" + b" " * 200 + b"}")
    with pytest.raises(WorkflowError, match="limit is 100"):
        parse_workflow_text("{" + " " * 200 + "}")
    assert MAX_WORKFLOW_BYTES >= 32 * 1024 * 1024


def test_invalid_utf8_names_the_offset():
    with pytest.raises(WorkflowError, match="not valid UTF-8.*offset 7"):
        parse_workflow_text(b'{"a": "\xff"}')


@pytest.mark.parametrize(
    ("text", "where"),
    [('{"a": 1} trailing', "Extra data at line 1 column 10"), ('{"a": 1,\n "b": }', "line 2 column 7")],
)
def test_malformed_json_names_line_and_column(text, where):
    with pytest.raises(WorkflowError, match=where):
        parse_workflow_text(text)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_with_their_position(literal):
    text = '{"s": "NaN in a string is fine",\n "v": ' + literal + "}"
    with pytest.raises(WorkflowError, match=rf"{literal} at line 2 column 7.*not valid JSON"):
        parse_workflow_text(text)


@pytest.mark.parametrize(
    ("text", "kind"), [("[]", "an array"), ("3", "a number"), ('"x"', "a string"), ("null", "null")]
)
def test_top_level_must_be_an_object(text, kind):
    with pytest.raises(WorkflowError, match=f"not {kind}"):
        parse_workflow_text(text)


@pytest.mark.parametrize("text", ["", "   \n", b""])
def test_empty_text(text):
    with pytest.raises(WorkflowError, match="empty"):
        parse_workflow_text(text)


def test_wrong_argument_type():
    with pytest.raises(WorkflowError, match="str or bytes"):
        parse_workflow_text(42)


def test_detects_both_formats_of_the_shared_examples():
    ui = json.loads((FIXTURES / "comfyui_sdxl_simple_ui.json").read_text())
    api = json.loads((FIXTURES / "txt2img_api.json").read_text())
    assert detect_format(ui) == "ui"
    assert detect_format(api) == "api"
    assert detect_format({"version": 1, "state": {}, "nodes": [], "links": []}) == "ui"
    assert detect_format({"nodes": [], "state": {"lastNodeId": 0}}) == "ui"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "not an array"),
        ({}, "empty object"),
        ({"nodes": {}, "links": []}, "'nodes' is an object, not an array"),
        ({"nodes": []}, "no 'links'"),
        ({"client_id": "x", "prompt": {"1": {}}}, "/prompt request body"),
        ({"1": "KSampler"}, "node '1' is a string"),
        ({"1": {"class_type": "A", "inputs": {}}, "2": {"title": "x"}}, "entry '2' has no class_type"),
        ({"name": "x", "value": 3}, "neither a UI workflow"),
    ],
)
def test_detect_format_says_what_the_document_looks_like(doc, message):
    with pytest.raises(WorkflowError, match=message):
        detect_format(doc)


def test_load_workflow_returns_an_api_prompt_for_either_format():
    registry = StubRegistry()
    expected = json.loads((FIXTURES / "comfyui_sdxl_simple_api.json").read_text())
    assert load_workflow((FIXTURES / "comfyui_sdxl_simple_ui.json").read_bytes(), registry) == expected
    api_text = (FIXTURES / "txt2img_api.json").read_text()
    assert load_workflow(api_text, registry) == json.loads(api_text)


def test_load_workflow_passes_errors_through():
    with pytest.raises(WorkflowError, match="not valid JSON"):
        load_workflow("{", StubRegistry())


def test_dump_api_is_indented_stable_and_round_trips():
    prompt = json.loads((FIXTURES / "txt2img_api.json").read_text())
    text = dump_api(prompt)
    assert text.endswith("\n")
    assert text.startswith('{\n  "4": {\n    "class_type"')
    assert json.loads(text) == prompt
    assert list(json.loads(text)) == list(prompt)
    assert dump_api(json.loads(text)) == text
    assert "é" in dump_api({"1": {"class_type": "X", "inputs": {"text": "é"}}})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object()])
def test_dump_api_refuses_values_json_cannot_hold(bad):
    with pytest.raises(WorkflowError, match="cannot be written as JSON"):
        dump_api({"1": {"class_type": "X", "inputs": {"v": bad}}})


def test_large_api_document_loads():
    prompt = {
        str(i): {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}}
        for i in range(100_000)
    }
    text = json.dumps(prompt)
    loaded = load_workflow(text, StubRegistry())
    assert len(loaded) == 100_000


def test_a_number_with_thousands_of_digits_is_a_clear_error():
    with pytest.raises(WorkflowError, match="could not be read"):
        parse_workflow_text('{"seed": ' + "1" * 5000 + "}")
