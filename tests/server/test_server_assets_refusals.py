"""/api/assets refuses bad ids, tags, queries and paths clearly; `blake3:` names in /view and
HEAD /api/assets/hash/{hash} resolve content hashes (ComfyUI v0.46)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid

import pytest
from test_server_assets import list_assets, multipart, png_bytes, upload_image

import server.assets_store as assets_store


def stand_in_hash(handle) -> str:
    """Test-only stand-in for blake3 (not installed here): the same 'blake3:<64 hex>' shape, so the
    lookup paths run; the real package's digest is checked below when it is installed."""
    return "blake3:" + hashlib.blake2b(handle.read(), digest_size=32).hexdigest()


@pytest.fixture
def hashed_live(monkeypatch, make_live):
    monkeypatch.setattr(assets_store, "DEFAULT_HASHER", stand_in_hash)
    return make_live()


def error_code(server, method: str, path: str, body=None, **kw) -> tuple[int, str]:
    status, answer = server.json(method, path, body, **kw)
    return status, answer["error"]["code"]


def test_unknown_and_malformed_ids_are_404(live):
    for asset_id in (str(uuid.uuid4()), "not-a-uuid", "..%2F..%2Fqueue.db"):
        for method, suffix, body in (("GET", "", None), ("DELETE", "", None), ("GET", "/content", None),
                                     ("POST", "/tags", {"tags": ["x"]}), ("DELETE", "/tags", {"tags": ["x"]}),
                                     ("PUT", "", {"name": "y"})):
            assert error_code(live, method, f"/api/assets/{asset_id}{suffix}", body) == (404, "ASSET_NOT_FOUND")


def test_bad_tags_are_400(live):
    asset_id = upload_image(live, "a.png", png_bytes())[1]["asset"]["id"]
    path = f"/api/assets/{asset_id}/tags"
    for tags in ([], ["a,b"], [""], ["   "], ["x" * 129], ["tab\there"], [1], "input", None):
        status, code = error_code(live, "POST", path, {"tags": tags})
        assert (status, code) == (400, "INVALID_BODY"), (tags, code)  # ComfyUI's code for any bad body
    assert error_code(live, "POST", path, raw=b"{not json", headers={"Content-Type": "application/json"}) == (
        400, "INVALID_JSON")
    assert error_code(live, "GET", "/api/assets?include_tags=ok,a%01b") == (400, "INVALID_QUERY")
    status, one = live.json("GET", f"/api/assets/{asset_id}")
    assert one["tags"] == ["input"]  # nothing was added by the refused requests


def test_bad_queries_are_400(live):
    for query in ("limit=0", "limit=501", "limit=ten", "offset=-1", "sort=path", "order=up",
                  "metadata_filter=%5B1%5D", "metadata_filter=nope", "after=abc"):
        status, code = error_code(live, "GET", f"/api/assets?{query}")
        assert status == 400 and code in ("INVALID_QUERY", "INVALID_CURSOR"), query


def test_uploads_cannot_leave_their_folder(live, tmp_path):
    data = png_bytes()
    for fields, name in (({"tags": "input", "name": "../escape.png"}, "x.png"),
                         ({"tags": "input"}, "../escape.png"),
                         ({"tags": "input", "name": "sub/dir.png"}, "x.png"),
                         ({"tags": "models,loras"}, "x.png"),
                         ({"tags": "secret"}, "x.png"),
                         ({"tags": "input"}, None)):
        body, content_type = multipart(fields, "file", name, data)
        status, _, payload = live.request("POST", "/api/assets", raw=body, headers={"Content-Type": content_type})
        assert status == 400, (fields, name, payload)
    assert not (tmp_path / "escape.png").exists() and not (live.root / "escape.png").exists()
    assert list_assets(live)["assets"] == []


def test_symlinks_out_of_a_folder_are_not_indexed(live, tmp_path):
    outside = tmp_path.parent / f"outside-{uuid.uuid4().hex}.png"
    outside.write_bytes(png_bytes())
    try:
        os.symlink(outside, live.root / "input" / "link.png")
        (live.root / "input" / ".hidden.png").write_bytes(png_bytes())
        assert list_assets(live)["assets"] == []
    finally:
        outside.unlink()


def test_view_refuses_malformed_hash_names_and_unknown_hashes(live):
    for name in ("blake3:../../queue.db", "blake3:" + "g" * 64, "blake3:abc"):
        status, body = live.json("GET", "/view?filename=" + name)
        assert status == 400, (name, body)
    status, body = live.json("GET", "/view?filename=blake3:" + "0" * 64)
    assert status == 404 and "blake3" in body["error"]["message"]
    assert live.request("HEAD", "/api/assets/hash/blake3:" + "0" * 64)[0] == 404
    assert live.request("HEAD", "/api/assets/hash/sha256:abc")[0] == 400


def test_blake3_names_resolve_in_view(hashed_live):
    live = hashed_live
    data = png_bytes((200, 1, 1, 255))
    asset = upload_image(live, "red.png", data)[1]["asset"]
    digest = asset["asset_hash"]
    assert digest == stand_in_hash(io.BytesIO(data))
    status, headers, content = live.request("GET", "/view?filename=" + digest)
    assert status == 200 and content == data and headers["x-content-type-options"] == "nosniff"
    assert live.request("GET", "/api/view?filename=" + digest.upper().replace("BLAKE3", "blake3"))[0] == 200
    assert live.request("HEAD", "/api/assets/hash/" + digest)[0] == 200
    # A run's output is found by its hash too, without anyone listing the assets first.
    prompt = {"1": {"class_type": "Const", "inputs": {"value": 9}},
              "2": {"class_type": "SaveImage", "inputs": {"value": ["1", 0]}}}
    entry = live.wait_done(live.queue_prompt(prompt)["prompt_id"])
    saved = (live.root / "output" / entry["outputs"]["2"]["images"][0]["filename"]).read_bytes()
    output_hash = stand_in_hash(io.BytesIO(saved))
    status, _, content = live.request("GET", "/view?filename=" + output_hash)
    assert status == 200 and content == saved


def test_a_wrong_expected_hash_refuses_the_upload(hashed_live):
    body, content_type = multipart({"tags": "input", "hash": "blake3:" + "1" * 64}, "file", "h.png", png_bytes())
    status, _, payload = hashed_live.request("POST", "/api/assets", raw=body, headers={"Content-Type": content_type})
    assert status == 400 and json.loads(payload)["error"]["code"] == "HASH_MISMATCH"
    assert not (hashed_live.root / "input" / "h.png").exists()


def test_real_blake3_digest_when_the_package_is_installed(make_live):
    pytest.importorskip("blake3")
    assert assets_store.DEFAULT_HASHER is not None
    live = make_live()
    asset = upload_image(live, "empty-ish.png", png_bytes())[1]["asset"]
    import blake3

    assert asset["asset_hash"] == "blake3:" + blake3.blake3(png_bytes()).hexdigest()
