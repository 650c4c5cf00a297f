"""The Templates dialog of ComfyUI's newer editor: /templates/index.json lists our UI workflows in the
shape of ComfyUI's templates package, /templates/{name}.json serves them, nothing else is reachable."""

from __future__ import annotations

import json
from pathlib import Path

from server.config import ServerConfig

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_project_workflows_are_the_templates(live):
    status, headers, payload = live.request("GET", "/templates/index.json")
    assert status == 200 and headers["content-type"].startswith("application/json")  # the editor checks it
    [category] = json.loads(payload)
    assert category["moduleName"] == "default" and category["title"] == "latentgraph workflows"
    names = [t["name"] for t in category["templates"]]
    expected = sorted(p.name[: -len("_ui.json")] for p in (ROOT / "workflows").glob("*_ui.json"))
    assert names == expected and "txt2img_sd15" in names
    entry = next(t for t in category["templates"] if t["name"] == "txt2img_sd15")
    assert entry["mediaType"] == "image" and entry["title"] == "txt2img sd15" and "KSampler" in entry["description"]

    status, headers, payload = live.request("GET", "/templates/txt2img_sd15.json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(payload) == json.loads((ROOT / "workflows" / "txt2img_sd15_ui.json").read_text())
    assert live.json("GET", "/templates/index_logo.json") == (200, {})


def test_only_listed_templates_are_served(make_live, tmp_path):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "one_ui.json").write_text('{"nodes": [{"type": "SaveImage"}], "links": []}')
    (folder / "two_api.json").write_text("{}")  # API format: not a template
    (tmp_path / "secret_ui.json").write_text('{"secret": true}')
    live = make_live(config=ServerConfig(db_synchronous="NORMAL", workflows_dir=folder))
    [category] = live.json("GET", "/templates/index.json")[1]
    assert [t["name"] for t in category["templates"]] == ["one"]
    assert live.json("GET", "/templates/one.json")[1]["nodes"][0]["type"] == "SaveImage"
    for name in ("two_api", "two", "..%2Fsecret", "../secret", "secret", "index.en"):
        assert live.request("GET", f"/templates/{name}.json")[0] == 404, name


def test_no_workflows_folder_gives_an_empty_index(make_live, tmp_path):
    live = make_live(config=ServerConfig(db_synchronous="NORMAL", workflows_dir=tmp_path / "absent"))
    assert live.json("GET", "/templates/index.json") == (200, [])
