"""Fuzzed file-route paths (issue 20; matrix B16, B18, B20): traversal, encoding tricks, long names
and NUL bytes on /view, /upload, /userdata, /v2/userdata, /internal/files and /view_metadata, against
one server. Every answer is a 2xx or a 4xx with a JSON error, never a 5xx; nothing is written outside
the server's folders; the server stays up."""

from __future__ import annotations

import json

import pytest
from fuzz_strategies import file_request, fuzz_settings, post_body
from hypothesis import given
from hypothesis import strategies as st
from server_harness import LiveServer
from test_server_files import multipart, png_bytes

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.multipart.BadContentDispositionParam")
FILE_BODIES = st.sampled_from([png_bytes(), b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])


@pytest.fixture(scope="module")
def files_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz-files")
    server = LiveServer(base / "server")
    server.outside = base
    status, _ = server.json("POST", "/userdata/keep.json", raw=b"{}")
    assert status == 200
    yield server
    server.stop()


def check_file_answer(status: int, headers: dict, payload: bytes, what: str) -> None:
    """Never a 5xx; a 4xx says what went wrong in JSON (the router's own 404/405 for a path that
    names no route are plain text, as in aiohttp and ComfyUI)."""
    assert status < 500, f"{what} answered {status}: {payload[:500]!r}"
    if status >= 400 and "application/json" in headers.get("content-type", ""):
        body = json.loads(payload)
        assert body.get("error"), f"{what} answered {status} without an error: {payload[:300]!r}"


@fuzz_settings(800)
@given(request=file_request(), data=FILE_BODIES, body=post_body, file_field=st.sampled_from(["image", "image", "file"]))
def test_fuzzed_file_routes_never_give_a_5xx(files_server, request, data, body, file_field):
    method, path, fields = request
    if fields is None:
        headers = {"Content-Type": "application/json"} if method == "POST" else {}
        status, headers, payload = files_server.request(method, path, raw=body if method == "POST" else None,
                                                        headers=headers)
    else:
        form = {key: fields[key] for key in ("subfolder", "type", "overwrite")}
        if fields["mask"]:
            ref = {"filename": fields["filename"], "subfolder": fields["subfolder"], "type": fields["type"]}
            form["original_ref"] = json.dumps(ref) if fields["original_ref"] == "ref" else fields["original_ref"]
        raw, content_type = multipart(form, fields["filename"], data, file_field)
        status, headers, payload = files_server.request(method, path, raw=raw, headers={"Content-Type": content_type})
    check_file_answer(status, headers, payload, f"{method} {path[:300]} {fields!r:.300}")


def test_a_settings_file_nested_too_deep_reads_as_empty(files_server):
    """Found by the fuzz: GET /settings raised RecursionError (500) on a settings file of deep nesting."""
    status, _, _ = files_server.request("POST", "/userdata/comfy.settings.json", raw=b"[" * 5000)
    assert status == 200
    assert files_server.json("GET", "/settings") == (200, {})
    assert files_server.json("GET", "/settings/Comfy.x") == (200, None)


def test_a_mask_original_ref_nested_too_deep_is_400(files_server):
    """Found by the fuzz: a deep original_ref raised RecursionError (500) in /upload/mask."""
    raw, content_type = multipart({"original_ref": "[" * 1500}, "m.png", png_bytes())
    status, _, payload = files_server.request("POST", "/upload/mask", raw=raw, headers={"Content-Type": content_type})
    assert status == 400 and "original_ref" in json.loads(payload)["error"]["message"]


def test_after_the_file_fuzz_the_server_answers_and_nothing_was_written_outside(files_server):
    status, _ = files_server.json("GET", "/queue")
    assert status == 200
    status, _, payload = files_server.request("GET", "/userdata/keep.json")
    assert status == 200 and payload == b"{}"
    outside = sorted(path.name for path in files_server.outside.iterdir())
    assert outside == ["server"]
