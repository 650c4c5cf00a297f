"""Upload and preview errors speak plainly (issue 20, item 9): no Python object reprs such as
`<_io.BytesIO object at 0x...>`, no server paths, no exception class dumps."""

from __future__ import annotations

import json
import re

import pytest
from test_server_files import _bomb_png, multipart, png_bytes, upload

from server.images import ImageRefusedError, open_image

_LEAKS = re.compile(r"<[^>]*>| at 0x[0-9a-f]+|Error\(|Traceback|/tmp/|/work/")


def assert_plain(message: str) -> None:
    assert message and not _LEAKS.search(message), message


@pytest.mark.parametrize("data", [b"not an image at all", b"", png_bytes((64, 64))[:60],
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"GIF89a" + b"\xff" * 30,
                                  _bomb_png(50000, 50000), b"\xff\xd8\xff" + b"\x00" * 100])
def test_upload_of_a_bad_image_has_a_plain_message(live, data):
    status, body = upload(live, "x.png", data)
    assert status == 400 and body["error"]["type"] == "not_an_image"
    assert_plain(body["error"]["message"])


def test_the_upload_message_says_what_was_wrong(live):
    status, body = upload(live, "x.png", b"not an image at all")
    assert "not an image" in body["error"]["message"].lower()
    status, body = upload(live, "x.png", _bomb_png(50000, 50000))
    assert "too many pixels" in body["error"]["message"] and "2500000000" in body["error"]["message"]


def test_mask_upload_and_view_preview_messages_are_plain(live):
    assert upload(live, "orig.png", png_bytes())[0] == 200
    ref = json.dumps({"filename": "orig.png", "type": "input"})
    status, body = upload(live, "m.png", b"junk", route="/upload/mask", original_ref=ref)
    assert status == 400 and body["error"]["type"] == "not_an_image"
    assert_plain(body["error"]["message"])
    (live.runtime.folders.output_dir / "broken.png").write_bytes(b"not a png")
    status, _, payload = live.request("GET", "/view?filename=broken.png&preview=webp")
    assert status == 400
    assert_plain(json.loads(payload)["error"]["message"])


@pytest.mark.parametrize("raw", [
    b'--b\r\nContent-Disposition: form-data; name="image"; filename="a\x00.png"\r\n\r\nxx\r\n--b--\r\n',
    b"--b\r\nnot headers at all\r\n\r\n",
    b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n\r\n' + b"x" * 100,
    b"garbage without a boundary"])
def test_malformed_multipart_messages_are_plain(live, raw):
    status, _, payload = live.request("POST", "/upload/image", raw=raw,
                                      headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert status == 400, payload
    assert_plain(json.loads(payload)["error"]["message"])


def test_open_image_on_a_path_does_not_name_the_path(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    with pytest.raises(ImageRefusedError) as info:
        open_image(bad, 1000)
    assert str(tmp_path) not in str(info.value) and "bad.png" not in str(info.value)
    assert_plain(str(info.value))


def test_a_refused_name_shows_no_repr_of_a_form_object(live):
    body, content_type = multipart({"type": "bogus"}, "x.png", png_bytes())
    status, _, payload = live.request("POST", "/upload/image", raw=body, headers={"Content-Type": content_type})
    assert status == 400
    assert_plain(json.loads(payload)["error"]["message"].replace("'bogus'", ""))
