"""ComfyUI v0.46's newer asset routes through a live server: seed (roots, wait, 409, status, cancel),
prune of vanished files, cursor pages, from-hash, the tag histogram, preview_id, and the job_id of a
run's outputs."""

from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import quote

from test_server_assets import list_assets, multipart, png_bytes, upload_image

from server.assets_seed import seeder_for
from server.assets_store import ListQuery, store_for


def seed(server, body=None, query: str = "?wait=true") -> tuple[int, dict]:
    return server.json("POST", "/api/assets/seed" + query, body if body is not None else {"roots": ["models"]})


def test_seed_then_list_finds_a_model_by_its_loader_name(live):
    (live.root / "models" / "checkpoints" / "sub").mkdir()
    (live.root / "models" / "checkpoints" / "sub" / "tiny.safetensors").write_bytes(b"\0" * 32)
    status, done = seed(live)
    assert status == 200, done
    assert done["status"] == "completed" and done["errors"] == []
    assert done["progress"]["created"] == 1 and done["progress"]["total"] == 1
    status, state = live.json("GET", "/api/assets/seed/status")
    assert status == 200 and state["state"] == "IDLE" and state["progress"]["created"] == 1
    status, loader_names = live.json("GET", "/models/checkpoints")
    (asset,) = list_assets(live, "include_tags=model_type:checkpoints")["assets"]
    assert asset["loader_path"] in loader_names and asset["loader_path"] == "sub/tiny.safetensors"
    assert asset["display_name"] == "checkpoints/sub/tiny.safetensors"
    assert asset["tags"] == ["models", "checkpoints", "model_type:checkpoints"]
    assert asset["metadata"] == {"filename": "sub/tiny.safetensors", "content_length": 32, "format": "safetensors"}
    assert "preview_url" not in asset and "job_id" not in asset
    status, again = seed(live)
    assert status == 200 and again["progress"]["created"] == 0 and again["progress"]["skipped"] == 1


def test_seed_refuses_unknown_roots_and_a_second_scan(live):
    assert seed(live, {"roots": ["temp", "nope"]})[0] == 400
    assert seed(live, {"roots": "models"})[1]["error"]["code"] == "INVALID_BODY"
    store = store_for(live.state.folders)
    with store._sync_lock:  # the scan waits here, so it is certainly running
        assert seed(live, {}, query="") == (202, {"status": "started"})
        assert seed(live, {}, query="?wait=true") == (409, {"status": "already_running"})
        assert live.json("POST", "/api/assets/prune") == (409, {"status": "scan_running", "marked": 0})
        assert live.json("GET", "/api/assets/seed/status")[1]["state"] == "RUNNING"
        assert live.json("POST", "/api/assets/seed/cancel") == (200, {"status": "cancelling"})
    assert seeder_for(store).wait(30)
    assert live.json("GET", "/api/assets/seed/status")[1]["state"] == "IDLE"
    assert live.json("POST", "/api/assets/seed/cancel") == (200, {"status": "idle"})


def test_a_file_deleted_on_disk_is_pruned_and_comes_back_with_its_id(live):
    data = png_bytes((9, 9, 9, 255))
    asset_id = upload_image(live, "gone.png", data)[1]["asset"]["id"]
    assert live.json("POST", f"/api/assets/{asset_id}/tags", {"tags": ["kept"]})[0] == 200
    (live.root / "input" / "gone.png").unlink()
    assert live.json("POST", "/api/assets/prune") == (200, {"status": "completed", "marked": 1})
    assert live.json("GET", f"/api/assets/{asset_id}")[1]["error"]["code"] == "ASSET_NOT_FOUND"
    assert list_assets(live, "include_tags=input")["assets"] == []
    assert live.json("POST", "/api/assets/prune")[1]["marked"] == 0
    (live.root / "input" / "gone.png").write_bytes(data)
    assert seed(live, {"roots": ["input"]})[0] == 200
    status, back = live.json("GET", f"/api/assets/{asset_id}")
    assert status == 200 and back["tags"] == ["input", "kept"]


def test_a_seed_marks_vanished_files_of_its_roots_only(live):
    (live.root / "output" / "o.png").write_bytes(png_bytes())
    (live.root / "input" / "i.png").write_bytes(png_bytes((1, 1, 1, 255)))
    assert seed(live, {"roots": ["input", "output"]})[1]["progress"]["created"] == 2
    store = store_for(live.state.folders)
    ids = {asset.root: asset.id for asset in store.list(ListQuery(limit=10))[0]}
    for name in ("output/o.png", "input/i.png"):
        (live.root / name).unlink()
    seed(live, {"roots": ["output"]})
    assert live.json("GET", f"/api/assets/{ids['output']}")[0] == 404
    assert live.json("GET", f"/api/assets/{ids['input']}")[0] == 200  # input was not scanned


def _all(server, query: str) -> list[dict]:
    return list_assets(server, query + ("&" if query else "") + "limit=500")["assets"]


def test_cursor_pages_walk_every_asset_once(live):
    for n in range(7):
        (live.root / "temp" / f"c{n}.png").write_bytes(png_bytes((n, 1, 2, 255)))
    for sort, order in (("name", "asc"), ("created_at", "desc"), ("size", "asc"), ("updated_at", "asc")):
        base = f"include_tags=temp&limit=3&sort={sort}&order={order}"
        page = list_assets(live, base)
        seen = [a["id"] for a in page["assets"]]
        assert page["has_more"] is True and page["total"] == 7
        while page["has_more"]:
            page = list_assets(live, base + "&after=" + quote(page["next_cursor"]))
            assert page["total"] == 7 and page["has_more"] == ("next_cursor" in page)
            seen += [a["id"] for a in page["assets"]]
        assert len(seen) == 7 and set(seen) == {a["id"] for a in _all(live, "include_tags=temp")}, (sort, order)
    names = [a["name"] for a in _all(live, "include_tags=temp&sort=name&order=asc")]
    assert names == sorted(names)


def test_a_forged_or_mismatched_cursor_is_400(live):
    for n in range(3):
        (live.root / "temp" / f"f{n}.png").write_bytes(png_bytes((n, 0, 9, 255)))
    cursor = list_assets(live, "include_tags=temp&limit=1&sort=name&order=asc")["next_cursor"]
    forged = base64.urlsafe_b64encode(json.dumps({"s": "name", "v": "a"}).encode()).decode().rstrip("=")
    for sort, order, after in (("name", "asc", forged), ("name", "asc", "!!not-base64"), ("name", "desc", cursor),
                               ("size", "asc", cursor), ("last_access_time", "asc", cursor)):
        query = f"sort={sort}&order={order}&after={quote(after)}"
        status, body = live.json("GET", f"/api/assets?{query}")
        assert status == 400 and body["error"]["code"] == "INVALID_CURSOR", (query, body)
    assert "next_cursor" not in list_assets(live, "sort=last_access_time&limit=1")  # offset pages only


def test_from_hash_makes_a_second_reference_to_known_content(live):
    data = png_bytes((4, 5, 6, 255))
    first = upload_image(live, "orig.png", data)[1]["asset"]
    digest = first["asset_hash"]
    status, made = live.json("POST", "/api/assets/from-hash", {"hash": digest, "name": "copy.png", "tags": ["mine"],
                                                                "user_metadata": {"k": 1}})
    assert status == 201, made
    assert made["id"] != first["id"] and made["created_new"] is True
    assert (made["name"], made["hash"], made["size"], made["tags"]) == ("copy.png", digest, len(data), ["mine"])
    assert made["user_metadata"] == {"k": 1} and "loader_path" not in made and "preview_url" not in made
    status, _, content = live.request("GET", f"/api/assets/{made['id']}/content")
    assert status == 200 and content == data
    assert {a["id"] for a in _all(live, "")} == {first["id"], made["id"]}
    unknown = "blake3:" + "0" * 64
    status, missing = live.json("POST", "/api/assets/from-hash", {"hash": unknown})
    assert status == 404 and missing["error"]["code"] == "ASSET_NOT_FOUND"
    for bad in ({"hash": "md5:abc"}, {}, {"hash": digest, "user_metadata": [1]}):
        assert live.json("POST", "/api/assets/from-hash", bad)[1]["error"]["code"] == "INVALID_BODY", bad


def test_upload_without_a_file_but_a_known_hash(live):
    digest = upload_image(live, "h.png", png_bytes((7, 7, 7, 255)))[1]["asset"]["asset_hash"]
    for hash_value, expected in ((digest, 201), ("blake3:" + "1" * 64, 400)):
        body, content_type = multipart({"tags": "input,fast", "hash": hash_value}, "file", None, None)
        status, _, payload = live.request("POST", "/api/assets", raw=body, headers={"Content-Type": content_type})
        assert status == expected, payload
    assert json.loads(payload)["error"]["code"] == "MISSING_INPUT"


def test_tag_histogram_and_preview_id(live):
    ids = [upload_image(live, f"p{n}.png", png_bytes((n, 3, 3, 255)))[1]["asset"]["id"] for n in range(3)]
    live.json("POST", f"/api/assets/{ids[0]}/tags", {"tags": ["red"]})
    live.json("POST", f"/api/assets/{ids[1]}/tags", {"tags": ["red", "big"]})
    status, refined = live.json("GET", "/api/assets/tags/refine?include_tags=red")
    assert status == 200 and refined == {"tag_counts": {"input": 2, "red": 2, "big": 1}}
    assert live.json("GET", "/api/assets/tags/refine?limit=0")[1]["error"]["code"] == "INVALID_QUERY"
    status, updated = live.json("PUT", f"/api/assets/{ids[0]}", {"preview_id": ids[2]})
    assert status == 200 and updated["preview_id"] == ids[2]
    assert updated["preview_url"] == "/api/view?type=input&filename=p2.png"
    bad = live.json("PUT", f"/api/assets/{ids[0]}", {"preview_id": str(uuid.uuid4())})
    assert bad[0] == 400 and bad[1]["error"]["code"] == "INVALID_BODY"


def test_an_output_of_a_run_carries_its_job_id(live):
    prompt = {"1": {"class_type": "Const", "inputs": {"value": 3}},
              "2": {"class_type": "SaveImage", "inputs": {"value": ["1", 0]}}}
    prompt_id = live.queue_prompt(prompt)["prompt_id"]
    image = live.wait_done(prompt_id)["outputs"]["2"]["images"][0]
    (output,) = list_assets(live, "include_tags=output")["assets"]
    assert output["name"] == image["filename"]
    assert output["job_id"] == prompt_id and output["prompt_id"] == prompt_id
    assert output["preview_url"] == f"/api/view?type=output&filename={quote(image['filename'])}"
    uploaded_id = upload_image(live, "u.png", png_bytes())[1]["asset"]["id"]
    assert "job_id" not in live.json("GET", f"/api/assets/{uploaded_id}")[1]


def test_new_answers_match_the_openapi_document(live):
    from server_schema_check import problems

    from server.openapi import document

    doc = document()
    digest = upload_image(live, "d.png", png_bytes())[1]["asset"]["asset_hash"]
    checks = [("/api/assets/seed", "post", "200", seed(live)[1]),
              ("/api/assets/seed/status", "get", "200", live.json("GET", "/api/assets/seed/status")[1]),
              ("/api/assets/seed/cancel", "post", "200", live.json("POST", "/api/assets/seed/cancel")[1]),
              ("/api/assets/prune", "post", "200", live.json("POST", "/api/assets/prune")[1]),
              ("/api/assets/tags/refine", "get", "200", live.json("GET", "/api/assets/tags/refine")[1]),
              ("/api/assets/from-hash", "post", "201", live.json("POST", "/api/assets/from-hash", {"hash": digest})[1]),
              ("/api/assets/from-hash", "post", "404",
               live.json("POST", "/api/assets/from-hash", {"hash": "blake3:" + "2" * 64})[1])]
    for path, method, code, body in checks:
        schema = doc["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]
        assert problems(body, schema, doc) == [], (path, code, body)


def test_an_index_from_before_the_new_columns_opens_and_keeps_its_rows(tmp_path):
    import sqlite3

    from server_stub_nodes import StubFolders

    from server.assets_store import AssetsStore

    folders = StubFolders(tmp_path)
    (tmp_path / "input" / "old.png").write_bytes(png_bytes())
    path = tmp_path / "user" / "assets.db"
    with sqlite3.connect(path) as conn:  # the first release's table: no preview_id, no missing
        conn.execute("CREATE TABLE assets (id TEXT PRIMARY KEY, root TEXT NOT NULL, category TEXT NOT NULL DEFAULT '',"
                     " rel_path TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
                     " hash TEXT, mime_type TEXT, user_metadata TEXT NOT NULL DEFAULT '{}', job_id TEXT,"
                     " created_at REAL NOT NULL, updated_at REAL NOT NULL, last_access_time REAL,"
                     " deleted INTEGER NOT NULL DEFAULT 0, UNIQUE (root, category, rel_path))")
        conn.execute("INSERT INTO assets (id, root, rel_path, name, size, mtime_ns, created_at, updated_at)"
                     " VALUES ('old-id', 'input', 'old.png', 'old.png', 1, 1, 1.0, 1.0)")
    store = AssetsStore(path, folders, None)
    assert store.get("old-id").preview_id is None
    store.sync(("input",))
    assert [a.id for a in store.list(ListQuery())[0]] == ["old-id"]
