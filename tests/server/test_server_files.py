"""/view and the upload routes stay inside input/output/temp (B16-B19) and behave as ComfyUI's."""

from __future__ import annotations

import io
import json
import os
import struct
import uuid
import zlib
from urllib.parse import quote

import pytest
from PIL import Image, PngImagePlugin


def png_bytes(size=(4, 3), color=(10, 20, 30, 255), text: dict | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def multipart(fields: dict, file_name: str | None, data: bytes | None, file_field="image") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    if file_name is not None:
        if "\\" in file_name or "\x00" in file_name:  # not expressible as a quoted string: RFC 5987 form
            disposition = f"filename*=UTF-8''{quote(file_name)}"
        else:
            disposition = f'filename="{file_name}"'
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; {disposition}\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode("utf-8", "surrogateescape") + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(live, name, data, route="/upload/image", **fields):
    body, content_type = multipart(fields, name, data)
    status, _, payload = live.request("POST", route, raw=body, headers={"Content-Type": content_type})
    return status, json.loads(payload)


def folder(live, kind):
    return getattr(live.runtime.folders, f"{kind}_dir")


def test_upload_then_view_and_duplicate_naming(live):
    data = png_bytes()
    status, body = upload(live, "cat.png", data)
    assert status == 200 and body.pop("asset")["name"] == "cat.png"  # ComfyUI v0.46's asset object (assets tests)
    assert body == {"name": "cat.png", "subfolder": "", "type": "input"}
    assert upload(live, "cat.png", data)[1]["name"] == "cat.png"  # same bytes: reused
    other = png_bytes(color=(1, 2, 3, 255))
    assert upload(live, "cat.png", other)[1]["name"] == "cat (1).png"
    assert upload(live, "cat.png", png_bytes(color=(9, 9, 9, 255)))[1]["name"] == "cat (2).png"
    assert upload(live, "cat.png", other, overwrite="true")[1]["name"] == "cat.png"
    assert (folder(live, "input") / "cat.png").read_bytes() == other
    status, _, body = live.request("GET", "/view?filename=cat.png&type=input")
    assert status == 200 and body == other
    status, _, body = live.request("GET", "/view?filename=cat.png%20%5Binput%5D")
    assert status == 200 and body == other
    status, body = upload(live, "n.png", data, subfolder="a/b", type="temp")
    assert status == 200 and body.pop("asset")["tags"] == ["temp"]
    assert body == {"name": "n.png", "subfolder": "a/b", "type": "temp"}
    assert (folder(live, "temp") / "a" / "b" / "n.png").is_file()
    assert not [p for p in folder(live, "input").iterdir() if p.name.startswith(".upload-")]


def test_view_channels_and_preview(live):
    (folder(live, "output") / "x.png").write_bytes(png_bytes(color=(200, 100, 50, 77)))
    status, headers, body = live.request("GET", "/view?filename=x.png&channel=rgb")
    assert status == 200 and Image.open(io.BytesIO(body)).mode == "RGB"
    status, _, body = live.request("GET", "/view?filename=x.png&channel=a")
    image = Image.open(io.BytesIO(body))
    assert image.getpixel((0, 0)) == (0, 0, 0, 77)
    status, headers, body = live.request("GET", "/view?filename=x.png&preview=jpeg;50")
    assert headers["content-type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("query,expected", [
    ("filename=../x.png", 400), ("filename=%2e%2e%2fx.png", 400), ("filename=..%2Fx.png", 400),
    ("filename=x.png&subfolder=../../", 403), ("filename=x.png&subfolder=%2e%2e", 403),
    ("filename=/etc/passwd", 400), ("filename=C:%5Cwindows", 400), ("filename=C:x", 400),
    ("filename=x.png%00.txt", 400), ("filename=a%5Cb.png", 400), ("filename=x.png&subfolder=/etc", 403),
    ("filename=x.png&type=models", 400), ("filename=passwd&type=bogus", 400), ("filename=missing.png", 404),
    ("", 404), ("filename=x.png&subfolder=a%00b", 400)])
def test_b16_view_refuses_paths_outside(live, query, expected):
    status, _, body = live.request("GET", "/view?" + query)
    assert status == expected, body
    assert "error" in json.loads(body)


def test_b16_symlink_pointing_out_is_refused(live, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    out = folder(live, "output")
    os.symlink(secret, out / "link.png")
    os.symlink(tmp_path, out / "linkdir")
    assert live.request("GET", "/view?filename=link.png")[0] == 403
    assert live.request("GET", "/view?filename=secret.txt&subfolder=linkdir")[0] == 403
    status, _ = upload(live, "y.png", png_bytes(), type="output", subfolder="linkdir")
    assert status == 403 and not (tmp_path / "y.png").exists()


@pytest.mark.parametrize("name", ["page.html", "pic.svg", "doc.xhtml", "app.js", "style.css"])
def test_b17_active_content_is_served_as_attachment(live, name):
    (folder(live, "output") / name).write_text("<script>alert(1)</script>")
    status, headers, _ = live.request("GET", f"/view?filename={name}")
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"].startswith("attachment") and headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name,fields,expected", [
    ("../../custom_nodes/x/__init__.png", {}, 400), ("..\\x.png", {}, 400), ("", {}, 400),
    ("a" * 300 + ".png", {}, 400), ("nul\x00.png", {}, 400), ("x.png", {"subfolder": "/abs"}, 403),
    ("x.png", {"subfolder": "../.."}, 403), ("x.png", {"type": "bogus"}, 400), ("x.py", {}, 400),
    ("x.html", {}, 400), ("..", {}, 400), ("sub/x.png", {}, 400)])
def test_b18_upload_names_that_are_refused(live, name, fields, expected):
    status, body = upload(live, name, png_bytes(), **fields)
    assert status == expected, body
    assert "error" in body
    assert [p.name for p in folder(live, "input").iterdir()] == []


def test_b18_unicode_name_is_fine_and_overwrite_of_a_non_file_is_refused(live):
    assert upload(live, "chat-été.png", png_bytes())[1]["name"] == "chat-été.png"
    (folder(live, "input") / "dir.png").mkdir()
    status, body = upload(live, "dir.png", png_bytes(), overwrite="true")
    assert status == 400 and (folder(live, "input") / "dir.png").is_dir()


def test_b18_missing_image_part_or_not_multipart(live):
    body, content_type = multipart({"type": "input"}, None, None)
    assert live.request("POST", "/upload/image", raw=body, headers={"Content-Type": content_type})[0] == 400
    assert live.json("POST", "/upload/image", {"image": "x"})[0] == 400


def _bomb_png(width: int, height: int) -> bytes:
    """A PNG header claiming width x height pixels followed by a tiny IDAT: never decoded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("data", [b"not an image at all", _bomb_png(50000, 50000), png_bytes((64, 64))[:60]])
def test_b19_non_images_bombs_and_truncated_files_are_refused(live, data):
    status, body = upload(live, "evil.png", data)
    assert status == 400 and body["error"]["type"] == "not_an_image"
    assert not (folder(live, "input") / "evil.png").exists()


def test_upload_size_limit(make_live):
    from server.config import ServerConfig

    live = make_live(config=ServerConfig(max_upload_mb=0.01))
    status, body = upload(live, "big.png", png_bytes() + b"\x00" * 20000)
    assert status == 413


def test_upload_mask_replaces_alpha_and_keeps_text(live):
    original = png_bytes((6, 5), (10, 20, 30, 255), text={"workflow": "{}"})
    assert upload(live, "orig.png", original)[0] == 200
    mask = png_bytes((6, 5), (0, 0, 0, 40))
    ref = json.dumps({"filename": "orig.png", "subfolder": "", "type": "input"})
    status, body = upload(live, "clipspace-mask.png", mask, route="/upload/mask", original_ref=ref,
                          subfolder="clipspace")
    assert status == 200 and "asset" in body
    assert {k: v for k, v in body.items() if k != "asset"} == {"name": "clipspace-mask.png", "subfolder": "clipspace",
                                                              "type": "input"}
    result = Image.open(folder(live, "input") / "clipspace" / "clipspace-mask.png")
    assert result.getpixel((0, 0)) == (10, 20, 30, 40) and result.text.get("workflow") == "{}"
    bad_ref = json.dumps({"filename": "../../etc/passwd", "type": "input"})
    assert upload(live, "m.png", mask, route="/upload/mask", original_ref=bad_ref)[0] == 400
    assert upload(live, "m.png", mask, route="/upload/mask", original_ref="{nope")[0] == 400
    missing = json.dumps({"filename": "nothere.png"})
    assert upload(live, "m.png", mask, route="/upload/mask", original_ref=missing)[0] == 404


def test_b18_backslash_and_nul_names_are_named_in_the_error(live):
    status, body = upload(live, "..\\x.png", png_bytes())
    assert status == 400 and "backslash" in body["error"]["message"]
    status, body = upload(live, "a\x00.png", png_bytes())
    assert status == 400 and "NUL" in body["error"]["message"]


def test_malformed_multipart_is_400_not_500(live):
    raw = b'--b\r\nContent-Disposition: form-data; name="image"; filename="a\x00.png"\r\n\r\nxx\r\n--b--\r\n'
    status, _, body = live.request("POST", "/upload/image", raw=raw,
                                   headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert status == 400 and "malformed" in json.loads(body)["error"]["message"]


def test_unicode_names_are_viewable(live):
    data = png_bytes()
    assert upload(live, "chat-été 猫.png", data)[0] == 200
    status, headers, body = live.request("GET", "/view?filename=chat-%C3%A9t%C3%A9%20%E7%8C%AB.png&type=input")
    assert status == 200 and body == data and "filename" in headers["content-disposition"]
