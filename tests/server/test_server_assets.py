"""/api/assets (ComfyUI v0.46) through a live server: upload -> asset object -> listed -> fetched ->
tagged/untagged -> deleted; a run's output image is an asset; the index survives a restart."""

from __future__ import annotations

import io
import json
import uuid
from urllib.parse import quote

from PIL import Image


def png_bytes(color=(10, 20, 30, 255), size=(4, 3)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, "PNG")
    return out.getvalue()


def multipart(fields: dict, file_field: str, file_name: str | None, data: bytes | None) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    if file_name is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"'
                     f"\r\nContent-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload_image(server, name: str, data: bytes, **fields) -> tuple[int, dict]:
    body, content_type = multipart(fields, "image", name, data)
    status, _, payload = server.request("POST", "/upload/image", raw=body, headers={"Content-Type": content_type})
    return status, json.loads(payload)


def list_assets(server, query: str = "") -> dict:
    status, body = server.json("GET", "/api/assets" + (f"?{query}" if query else ""))
    assert status == 200, body
    return body


def test_upload_list_get_tag_delete(live):
    data = png_bytes()
    status, answer = upload_image(live, "cat.png", data, subfolder="pets")
    assert status == 200, answer
    assert (answer["name"], answer["subfolder"], answer["type"]) == ("cat.png", "pets", "input")
    asset = answer["asset"]
    assert uuid.UUID(asset["id"]) and asset["name"] == "cat.png"
    assert (asset["size"], asset["mime_type"], asset["tags"]) == (len(data), "image/png", ["input"])
    assert "asset_hash" in asset

    listing = list_assets(live, "include_tags=input")
    assert [a["id"] for a in listing["assets"]] == [asset["id"]]
    assert (listing["total"], listing["has_more"]) == (1, False)
    listed = listing["assets"][0]
    assert listed["user_metadata"] == {"filename": "pets/cat.png"}
    assert listed["preview_url"] == "/api/view?type=input&filename=cat.png&subfolder=pets"
    status, _, viewed = live.request("GET", listed["preview_url"])
    assert status == 200 and viewed == data

    status, one = live.json("GET", f"/api/assets/{asset['id']}")
    assert status == 200 and one["id"] == asset["id"] and one["size"] == len(data)
    status, headers, content = live.request("GET", f"/api/assets/{asset['id']}/content")
    assert status == 200 and content == data and headers["content-type"] == "image/png"
    assert "attachment" in headers["content-disposition"]

    status, added = live.json("POST", f"/api/assets/{asset['id']}/tags", {"tags": [" Portrait", "favourite", "input"]})
    assert status == 200, added
    assert added == {"added": ["portrait", "favourite"], "already_present": ["input"],
                     "total_tags": ["input", "favourite", "portrait"]}
    assert [a["id"] for a in list_assets(live, "include_tags=portrait,input")["assets"]] == [asset["id"]]
    assert list_assets(live, "exclude_tags=favourite")["assets"] == []
    status, removed = live.json("DELETE", f"/api/assets/{asset['id']}/tags", {"tags": ["portrait", "input", "nope"]})
    assert status == 200, removed
    assert removed == {"removed": ["portrait"], "not_present": ["nope"], "protected": ["input"],
                       "total_tags": ["input", "favourite"]}
    status, tags = live.json("GET", "/api/tags")
    assert status == 200 and {"name": "favourite", "count": 1} in tags["tags"]

    status, _, _ = live.request("DELETE", f"/api/assets/{asset['id']}")
    assert status == 204
    assert live.json("GET", f"/api/assets/{asset['id']}")[0] == 404
    assert live.request("DELETE", f"/api/assets/{asset['id']}")[0] == 404
    assert list_assets(live)["assets"] == []
    assert (live.root / "input" / "pets" / "cat.png").is_file()  # the reference goes, the file stays


def test_upload_through_api_assets_and_the_same_file_again(live):
    data = png_bytes((1, 2, 3, 255))
    fields = {"tags": json.dumps(["input", "refs"]), "user_metadata": json.dumps({"note": "x"})}
    body, content_type = multipart(fields, "file", "ref.png", data)
    status, _, payload = live.request("POST", "/api/assets", raw=body, headers={"Content-Type": content_type})
    created = json.loads(payload)
    assert status == 201, created
    assert created["created_new"] is True and created["tags"] == ["input", "refs"]
    assert created["user_metadata"] == {"filename": "ref.png", "note": "x"}
    assert (live.root / "input" / "ref.png").read_bytes() == data
    status, _, payload = live.request("POST", "/api/assets", raw=body, headers={"Content-Type": content_type})
    again = json.loads(payload)
    assert status == 200 and again["created_new"] is False and again["id"] == created["id"]
    assert list_assets(live, "metadata_filter=" + quote('{"note": "x"}'))["total"] == 1
    assert list_assets(live, "metadata_filter=" + quote('{"note": "y"}'))["total"] == 0


def test_output_of_a_run_is_an_asset(live):
    prompt = {"1": {"class_type": "Const", "inputs": {"value": 7}},
              "2": {"class_type": "SaveImage", "inputs": {"value": ["1", 0]}}}
    prompt_id = live.queue_prompt(prompt)["prompt_id"]
    entry = live.wait_done(prompt_id)
    image = entry["outputs"]["2"]["images"][0]
    listing = list_assets(live, "include_tags=output")
    assert [a["name"] for a in listing["assets"]] == [image["filename"]]
    output = listing["assets"][0]
    assert output["tags"] == ["output"] and output["mime_type"] == "image/png"
    status, _, content = live.request("GET", f"/api/assets/{output['id']}/content")
    assert status == 200 and content == (live.root / "output" / image["filename"]).read_bytes()
    (live.root / "output" / image["filename"]).unlink()
    assert list_assets(live, "include_tags=output")["assets"] == []  # a vanished file leaves the index


def test_paging_and_sorting(live):
    for n in range(5):
        (live.root / "temp" / f"t{n}.png").write_bytes(png_bytes((n, 0, 0, 255)))
    names = [a["name"] for a in list_assets(live, "include_tags=temp&sort=name&order=asc&limit=2&offset=1")["assets"]]
    assert names == ["t1.png", "t2.png"]
    page = list_assets(live, "include_tags=temp&sort=name&order=desc&limit=2&offset=3")
    assert [a["name"] for a in page["assets"]] == ["t1.png", "t0.png"] and page["has_more"] is False
    assert list_assets(live, "include_tags=temp&limit=4")["has_more"] is True
    assert list_assets(live, "name_contains=T3")["total"] == 1


def test_models_are_listed_with_their_folder_key(live):
    (live.root / "models" / "loras" / "style.safetensors").write_bytes(b"\0" * 16)
    listed = list_assets(live, "include_tags=models")["assets"]
    assert [(a["name"], a["tags"], a["loader_path"], a["display_name"]) for a in listed] == [
        ("style.safetensors", ["models", "loras", "model_type:loras"], "style.safetensors",
         "loras/style.safetensors")]


def test_the_index_survives_a_restart(make_live, tmp_path):
    first = make_live()
    status, answer = upload_image(first, "keep.png", png_bytes())
    asset_id = answer["asset"]["id"]
    assert first.json("POST", f"/api/assets/{asset_id}/tags", {"tags": ["kept"]})[0] == 200
    first.stop()
    second = make_live(root=tmp_path)
    status, again = second.json("GET", f"/api/assets/{asset_id}")
    assert status == 200, again
    assert again["tags"] == ["input", "kept"] and again["name"] == "keep.png"
    assert [a["id"] for a in list_assets(second, "include_tags=kept")["assets"]] == [asset_id]


def test_answers_match_the_openapi_document(live):
    from server_schema_check import problems

    from server.openapi import document

    doc = document()
    status, answer = upload_image(live, "doc.png", png_bytes())
    upload_schema = doc["paths"]["/upload/image"]["post"]["responses"]["200"]["content"]["application/json"]
    assert problems(answer, upload_schema["schema"], doc) == []
    checks = [("/api/assets", "get", "200", list_assets(live)),
              ("/api/assets/{id}", "get", "200", live.json("GET", f"/api/assets/{answer['asset']['id']}")[1]),
              ("/api/assets/{id}", "get", "404", live.json("GET", f"/api/assets/{uuid.uuid4()}")[1]),
              ("/api/assets/{id}/tags", "post", "200",
               live.json("POST", f"/api/assets/{answer['asset']['id']}/tags", {"tags": ["t"]})[1]),
              ("/api/assets", "get", "400", live.json("GET", "/api/assets?limit=0")[1])]
    for path, method, code, body in checks:
        schema = doc["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]
        assert problems(body, schema, doc) == [], (path, code, body)


def test_an_odd_subfolder_spelling_keeps_one_asset(live):
    asset_id = upload_image(live, "odd.png", png_bytes(), subfolder="a//b/./")[1]["asset"]["id"]
    assert [a["id"] for a in list_assets(live)["assets"]] == [asset_id]
    assert list_assets(live)["assets"][0]["user_metadata"] == {"filename": "a/b/odd.png"}
