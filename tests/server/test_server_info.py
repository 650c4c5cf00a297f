"""Info routes, settings, static pages, and the OpenAPI document checked against real responses."""

from __future__ import annotations

import json
import re

import pytest
from server_harness import simple_prompt
from server_schema_check import problems
from server_stub_nodes import StubRegistry

from server.config import ServerConfig
from server.openapi import document


def test_object_info_and_one_class(live):
    status, info = live.json("GET", "/object_info")
    assert status == 200 and info["Const"]["input"]["required"]["value"][0] == "INT"
    assert live.json("GET", "/api/object_info/Show")[1] == {"Show": info["Show"]}
    assert live.json("GET", "/object_info/Nope") == (200, {})


def test_models_embeddings_and_features(live):
    models = live.runtime.folders.root / "models"
    (models / "checkpoints" / "sub").mkdir()
    (models / "checkpoints" / "sub" / "a.safetensors").write_bytes(b"")
    (models / "embeddings" / "easyneg.pt").write_bytes(b"")
    assert live.json("GET", "/models")[1] == ["checkpoints", "loras", "embeddings", "vae"]
    assert live.json("GET", "/models/checkpoints")[1] == ["sub/a.safetensors"]
    assert live.json("GET", "/models/nope")[0] == 404
    assert live.json("GET", "/api/experiment/models/checkpoints")[1] == [{"name": "sub/a.safetensors", "pathIndex": 0}]
    assert live.json("GET", "/api/experiment/models/nope")[0] == 404
    assert [m["name"] for m in live.json("GET", "/api/experiment/models")[1]] == ["checkpoints", "loras", "embeddings",
                                                                                  "vae"]
    for path in ("/api/i18n", "/api/workflow_templates", "/api/global_subgraphs"):
        assert live.json("GET", path) == (200, {})
    assert live.json("GET", "/embeddings")[1] == ["easyneg"]
    features = live.json("GET", "/features")[1]
    assert features["supports_preview_metadata"] is True and features["max_upload_size"] == 100 * 1024 * 1024


def test_system_stats(live):
    stats = live.json("GET", "/system_stats")[1]
    assert stats["system"]["ram_total"] > 0 and stats["devices"][0]["type"] in ("cpu", "cuda")
    assert stats["models"] == []  # ours: the resident models (none: this runtime loads none)
    # The keys ComfyUI added after v0.8 (its editor reads them to warn about old packages).
    system = stats["system"]
    assert system["required_frontend_version"] == "1.58.1" and system["deploy_environment"] == "local"
    assert isinstance(system["comfyui_version"], str) and isinstance(system["installed_templates_version"], str)
    packages = {p["name"]: p for p in system["comfy_package_versions"]}
    assert packages["comfyui-frontend-package"]["required"] == "1.58.1"
    assert all(set(p) == {"name", "installed", "required"} for p in packages.values())


def test_users_and_settings_round_trip(live):
    assert live.json("GET", "/api/users")[1] == {"storage": "server", "migrated": True}
    assert live.json("GET", "/api/settings")[1] == {}
    assert live.json("POST", "/api/settings", {"Comfy.A": 1, "Comfy.B": "x"})[0] == 200
    assert live.json("POST", "/api/settings/Comfy.B", {"nested": [1]})[0] == 200
    assert live.json("GET", "/api/settings")[1] == {"Comfy.A": 1, "Comfy.B": {"nested": [1]}}
    assert live.json("GET", "/api/settings/Comfy.A")[1] == 1
    assert live.json("GET", "/api/settings/missing")[1] is None
    assert live.json("POST", "/api/settings", [1, 2])[0] == 400
    path = live.runtime.folders.user_dir / "default" / "comfy.settings.json"
    path.write_text("{corrupt")
    assert live.json("GET", "/api/settings")[1] == {}


def test_root_page_without_a_built_editor_explains_how_to_build(live):
    status, headers, body = live.request("GET", "/")
    assert status == 200 and b"npm run build" in body and headers["cache-control"] == "no-cache"


def test_editor_files_and_custom_node_web_dirs_are_served(make_live, tmp_path):
    root = tmp_path / "dist"
    (root / "extensions" / "core").mkdir(parents=True)
    (root / "index.html").write_text("<html>editor</html>")
    (root / "extensions" / "core" / "a.js").write_text("//a")
    pack = tmp_path / "pack_web"
    pack.mkdir()
    (pack / "widget.js").write_text("//w")
    live = make_live(root=tmp_path / "srv", config=ServerConfig(web_root=root),
                     registry=StubRegistry(web_dirs={"my-pack": pack}))
    assert live.request("GET", "/")[2] == b"<html>editor</html>"
    assert live.request("GET", "/extensions/my-pack/widget.js")[2] == b"//w"
    assert live.json("GET", "/extensions")[1] == ["/extensions/core/a.js", "/extensions/my-pack/widget.js"]
    assert live.request("GET", "/extensions/my-pack/../../srv/queue.db")[0] in (403, 404)


def test_unknown_route_is_404_and_wrong_method_405(live):
    assert live.request("GET", "/nope")[0] == 404
    assert live.request("DELETE", "/prompt")[0] == 405


def _check(live, method, path, body=None, status=200):
    doc = document()
    code, _, payload = live.request(method, path, body)
    assert code == status, payload
    bare = path.split("?")[0]
    template = next((p for p in doc["paths"] if p == bare), None) or next(
        p for p in doc["paths"] if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", p), bare))
    response = doc["paths"][template][method.lower()]["responses"][str(status)]
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        assert problems(json.loads(payload), schema, doc) == [], (path, payload[:300])
    return payload


def test_openapi_document_matches_real_responses(live):
    assert live.json("GET", "/openapi.json")[1]["openapi"].startswith("3.")
    live.queue_prompt(simple_prompt(1))
    accepted = json.loads(_check(live, "POST", "/prompt", {"prompt": simple_prompt(2)}))
    live.wait_done(accepted["prompt_id"])
    fail = {"1": {"class_type": "Const", "inputs": {"value": 1}}, "2": {"class_type": "Fail", "inputs": {"value": ["1", 0]}},
            "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}}
    live.wait_done(live.queue_prompt(fail)["prompt_id"])
    for path in ("/prompt", "/queue", "/history", f"/history/{accepted['prompt_id']}", "/object_info",
                 "/object_info/Const", "/system_stats", "/embeddings", "/models", "/models/checkpoints",
                 "/extensions", "/features", "/users", "/settings", "/jobs", f"/jobs/{accepted['prompt_id']}"):
        _check(live, "GET", path)
    _check(live, "POST", "/prompt", {"prompt": "x"}, status=400)
    _check(live, "POST", "/prompt", {"nope": 1}, status=400)
    _check(live, "POST", "/prompt", {"prompt": simple_prompt(), "prompt_id": accepted["prompt_id"]}, status=409)
    _check(live, "GET", "/view?filename=../x", status=400)
    _check(live, "GET", "/models/nope", status=404)
    _check(live, "GET", "/jobs/nope", status=404)
    _check(live, "GET", "/jobs?limit=0", status=400)
    for path in ("/internal/files/output", "/internal/folder_paths"):
        _check(live, "GET", path)
    _check(live, "GET", "/internal/files/models", status=400)
    _check(live, "GET", "/view_metadata/checkpoints?filename=../x.safetensors", status=403)
    _check(live, "GET", "/view_metadata/checkpoints?filename=x.safetensors", status=404)


@pytest.mark.parametrize("path", sorted(document()["paths"]))
def test_every_documented_path_exists(live, path):
    concrete = path.replace("{prompt_id}", "x").replace("{node_class}", "Const").replace("{folder}", "checkpoints") \
        .replace("{setting_id}", "a").replace("{job_id}", "x").replace("{file}", "f.json").replace("{dest}", "g.json") \
        .replace("{folder_name}", "checkpoints").replace("{directory_type}", "output").replace("{name}", "txt2img_sd15") \
        .replace("{subgraph_id}", "0123456789abcdef")
    method = next(iter(document()["paths"][path]))
    status, headers, body = live.request(method.upper(), concrete, {} if method == "post" else None,
                                         headers={"Content-Type": "application/json"})
    assert status not in (405, 500)
    if status == 404:  # a handler's own "not found" (JSON), not a missing route
        assert headers["content-type"].startswith("application/json"), (path, body)
