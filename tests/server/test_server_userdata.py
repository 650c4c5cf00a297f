"""/userdata routes: saved workflows round trip, and B20 (encoded traversal, active content)."""

from __future__ import annotations

import json
import os

import pytest


def test_userdata_round_trip(live):
    workflow = json.dumps({"nodes": []}).encode()
    status, _, body = live.request("POST", "/api/userdata/workflows%2Fa.json", raw=workflow)
    assert status == 200 and json.loads(body) == "workflows/a.json"
    assert live.request("POST", "/api/userdata/workflows%2Fa.json?overwrite=false", raw=b"{}")[0] == 409
    assert live.request("GET", "/api/userdata/workflows%2Fa.json")[2] == workflow
    assert live.json("GET", "/api/userdata?dir=workflows")[1] == ["a.json"]
    full = live.json("GET", "/api/userdata?dir=workflows&recurse=true&full_info=true")[1]
    assert full[0]["path"] == "a.json" and full[0]["size"] == len(workflow)
    v2 = live.json("GET", "/api/v2/userdata?path=")[1]
    assert v2 == [{"name": "workflows", "path": "workflows", "type": "directory"}]
    status, _, body = live.request("POST", "/api/userdata/workflows%2Fa.json/move/workflows%2Fb.json", raw=b"")
    assert status == 200 and json.loads(body) == "workflows/b.json"
    assert live.json("GET", "/api/userdata?dir=workflows&split=true")[1] == [["b.json", "b.json"]]
    assert live.request("DELETE", "/api/userdata/workflows%2Fb.json")[0] == 204
    assert live.request("GET", "/api/userdata/workflows%2Fb.json")[0] == 404
    assert live.json("GET", "/api/userdata")[0] == 400
    assert live.json("GET", "/api/userdata?dir=nothere")[0] == 404


@pytest.mark.parametrize("path", ["..%2f..%2fx", "..%2F..%2Fqueue.db", "%2e%2e%2fx", "a%2f..%2f..%2fx", "%2fetc%2fpasswd",
                                  "x%00y", "a%5cb"])
def test_b20_encoded_traversal_is_400(live, path):
    for method in ("GET", "POST", "DELETE"):
        status, _, body = live.request(method, f"/api/userdata/{path}", raw=b"x" if method == "POST" else None)
        assert status == 400, (method, path, body)
    assert not (live.root / "x").exists() and not (live.root / "user" / "x").exists()


def test_b20_double_encoding_is_a_literal_name(live):
    status, _, body = live.request("POST", "/api/userdata/%252e%252e%252fx", raw=b"data")
    assert status == 200 and json.loads(body) == "%2e%2e%2fx"
    assert (live.root / "user" / "default" / "%2e%2e%2fx").read_bytes() == b"data"


def test_b20_html_is_served_as_download(live):
    assert live.request("POST", "/api/userdata/page.html", raw=b"<script>alert(1)</script>")[0] == 200
    status, headers, _ = live.request("GET", "/api/userdata/page.html")
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"].startswith("attachment") and headers["x-content-type-options"] == "nosniff"


def test_userdata_symlink_out_is_403(live, tmp_path):
    (tmp_path / "outside.txt").write_text("secret")
    root = live.root / "user" / "default"
    root.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp_path / "outside.txt", root / "link.txt")
    assert live.request("GET", "/api/userdata/link.txt")[0] == 403
    assert live.request("POST", "/api/userdata/link.txt", raw=b"overwrite")[0] == 403
    assert (tmp_path / "outside.txt").read_text() == "secret"
