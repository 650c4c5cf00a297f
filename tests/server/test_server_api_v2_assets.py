"""The Comfy API v2 assets (server/routes_v2_assets.py) over real HTTP with aiohttp's client: upload with
dedup by blake3 hash, metadata, bytes with Range, by-hash and from-hash, delete, a job's outputs as assets
(with their hash and job_id), the errors, and the paths in /api/v2/openapi.json."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from blake3 import blake3

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
HASH = "blake3:" + blake3(PNG).hexdigest()


def _form(data: bytes = PNG, file_path: str = "photo.png", content_type: str = "image/png", **fields) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="upload.bin", content_type="application/octet-stream")
    if content_type is not None:
        form.add_field("content_type", content_type)
    if file_path is not None:
        form.add_field("file_path", file_path)
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            form.add_field(name, str(item))
    return form


async def _call(live, method: str, path: str, **kw) -> tuple[int, object, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, live.url + path, **kw) as resp:
            kind = resp.headers.get("Content-Type", "")
            body = await resp.json() if kind.startswith("application/json") else await resp.read()
            return resp.status, body, dict(resp.headers)


def call(live, method: str, path: str, **kw):
    return asyncio.run(_call(live, method, path, **kw))


def test_upload_dedups_by_hash_and_serves_metadata_and_bytes(live):
    status, first, _ = call(live, "POST", "/api/v2/assets", data=_form(tags=["portrait", "input"]))
    assert status == 201, first
    assert first["hash"] == HASH and first["size_bytes"] == len(PNG) and first["content_type"] == "image/png"
    assert first["file_path"] == "photo.png" and first["created_new"] is True and "job_id" not in first
    assert first["url"] == f"/api/v2/assets/{first['id']}/content" and first["created_at"].endswith("Z")
    assert (live.root / "input" / "photo.png").read_bytes() == PNG

    # The same bytes at the same path: the same asset, 200 (content already known).
    status, again, _ = call(live, "POST", "/api/v2/assets", data=_form())
    assert status == 200 and again["id"] == first["id"] and again["created_new"] is False
    # The same bytes elsewhere: a new asset over known content, still 200.
    status, other, _ = call(live, "POST", "/api/v2/assets", data=_form(file_path="sub/copy.png"))
    assert status == 200 and other["id"] != first["id"] and other["file_path"] == "sub/copy.png"

    status, got, _ = call(live, "GET", f"/api/v2/assets/{first['id']}")
    assert status == 200 and {k: got[k] for k in ("id", "hash", "file_path")} == {
        "id": first["id"], "hash": HASH, "file_path": "photo.png"}
    status, body, headers = call(live, "GET", got["url"])
    assert status == 200 and body == PNG and headers["Content-Type"] == "image/png"
    status, part, _ = call(live, "GET", got["url"], headers={"Range": "bytes=0-7"})
    assert status == 206 and part == PNG[:8]
    # The classic assets route sees the same asset with its tags.
    status, classic, _ = call(live, "GET", f"/api/assets/{first['id']}")
    assert status == 200 and classic["tags"] == ["input", "portrait"]


def test_by_hash_from_hash_and_delete(live):
    assert call(live, "HEAD", f"/api/v2/assets/by-hash/{HASH}")[0] == 404
    assert call(live, "HEAD", "/api/v2/assets/by-hash/not-a-hash")[0] == 404
    _, uploaded, _ = call(live, "POST", "/api/v2/assets", data=_form())
    assert call(live, "HEAD", f"/api/v2/assets/by-hash/{HASH}")[0] == 200

    status, same, _ = call(live, "POST", "/api/v2/assets/from-hash", json={"hash": HASH})
    assert status == 200 and same["id"] == uploaded["id"]
    status, minted, _ = call(live, "POST", "/api/v2/assets/from-hash", json={"hash": HASH, "file_path": "b.png",
                                                                             "tags": ["x"]})
    assert status == 201 and minted["id"] != uploaded["id"] and minted["hash"] == HASH
    assert (live.root / "input" / "b.png").read_bytes() == PNG
    status, error, _ = call(live, "POST", "/api/v2/assets/from-hash", json={"hash": "blake3:" + "0" * 64})
    assert status == 404 and error["error"]["code"] == "blob_not_found"

    assert call(live, "DELETE", f"/api/v2/assets/{minted['id']}")[0] == 204
    status, error, _ = call(live, "DELETE", f"/api/v2/assets/{minted['id']}")
    assert status == 404 and error["error"]["code"] == "not_found"
    assert call(live, "GET", f"/api/v2/assets/{minted['id']}")[0] == 404
    assert call(live, "GET", f"/api/v2/assets/{uploaded['id']}")[0] == 200  # shared content untouched


def test_a_reference_made_from_a_hash_has_no_file_path(live):
    """/api/assets/from-hash names known content without a file of its own: v2 shows file_path null."""
    _, uploaded, _ = call(live, "POST", "/api/v2/assets", data=_form())
    status, ref, _ = call(live, "POST", "/api/assets/from-hash", json={"hash": HASH, "name": "alias.png"})
    assert status == 201 and ref["id"] != uploaded["id"]
    status, shown, _ = call(live, "GET", f"/api/v2/assets/{ref['id']}")
    assert status == 200 and shown["file_path"] is None and shown["hash"] == HASH


@pytest.mark.parametrize(("fields", "status", "code", "words"), [
    ({"expected_hash": "blake3:" + "1" * 64}, 409, "hash_mismatch", "nothing was stored"),
    ({"expected_hash": "md5:abc"}, 422, "validation_error", "expected_hash must be like"),
    ({"file_path": None}, 422, "validation_error", "file_path is required"),
    ({"file_path": "../escape.png"}, 422, "validation_error", "would leave the folder"),
    ({"file_path": "models/checkpoints/x.safetensors"}, 422, "validation_error", "model folders"),
    ({"content_type": None}, 422, "validation_error", "content_type is required"),
    ({"expires_in": 5}, 422, "validation_error", "expires_in must be"),
    ({"tags": "bad,\x01tag"}, 422, "validation_error", "is not allowed"),
])
def test_refused_uploads_say_why_and_store_nothing(live, fields, status, code, words):
    got, body, _ = call(live, "POST", "/api/v2/assets", data=_form(**fields))
    assert got == status and body["error"]["code"] == code and words in body["error"]["message"], body
    assert not (live.root / "input" / "photo.png").exists()


def test_a_body_that_is_not_multipart_is_refused(live):
    status, body, _ = call(live, "POST", "/api/v2/assets", data=b"raw", headers={"Content-Type": "image/png"})
    assert status == 422 and "multipart/form-data" in body["error"]["message"]


def test_a_jobs_outputs_are_assets_with_hash_and_job_id(live):
    workflow = {"1": {"class_type": "Const", "inputs": {"value": 3}},
                "2": {"class_type": "SaveImage", "inputs": {"value": ["1", 0], "filename_prefix": "v2asset"}}}
    status, job, _ = call(live, "POST", "/api/v2/jobs", json={"workflow": workflow})
    assert status == 201, job
    deadline = time.monotonic() + 20
    while job["status"] != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.02)
        job = call(live, "GET", f"/api/v2/jobs/{job['id']}")[1]
    (output,) = job["outputs"]
    path = live.root / "output" / output["name"]
    assert output["hash"] == "blake3:" + blake3(path.read_bytes()).hexdigest() and output["job_id"] == job["id"]

    status, asset, _ = call(live, "GET", f"/api/v2/assets/{output['id']}")
    assert status == 200 and asset["job_id"] == job["id"] and asset["hash"] == output["hash"]
    assert asset["file_path"] == f"output/{output['name']}" and asset["size_bytes"] == output["size_bytes"]
    assert call(live, "GET", asset["url"])[1] == path.read_bytes()
    assert call(live, "GET", f"/api/v2/jobs/{job['id']}")[1]["outputs"] == [output]  # stable across reads
    status, error, _ = call(live, "DELETE", f"/api/v2/assets/{output['id']}")
    assert status == 409 and error["error"]["code"] == "asset_in_use"


def test_the_openapi_document_lists_the_asset_paths(live):
    document = call(live, "GET", "/api/v2/openapi.json")[1]
    assert {"/api/v2/assets", "/api/v2/assets/from-hash", "/api/v2/assets/by-hash/{hash}", "/api/v2/assets/{id}",
            "/api/v2/assets/{id}/content"} <= set(document["paths"])
    assert set(document["components"]["schemas"]["Asset"]["required"]) >= {"id", "hash", "size_bytes", "url"}
