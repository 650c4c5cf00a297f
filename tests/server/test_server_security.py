"""Host/Origin checks (B21), browser content types (B22), tokens, and the listen rule."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from server_harness import simple_prompt

from server.config import ServerConfig
from server.security import InsecureListenError, check_host_origin, check_listen_security, is_loopback


@pytest.mark.parametrize("headers", [
    {"Origin": "null"}, {"Origin": "http://evil.com"}, {"Origin": "http://127.0.0.1:99999"},
    {"Origin": "file://"}, {"Host": "evil.com", "Origin": "http://evil.com"}, {"Host": "evil.com"},
    {"Host": "127.0.0.1:99999"}, {"Origin": "http://localhost.evil.com"}])
def test_b21_bad_host_or_origin_is_403_never_500(live, headers):
    headers = {"Host": f"127.0.0.1:{live.port}", **headers}
    status, _, body = live.request("POST", "/prompt", {"prompt": simple_prompt()}, headers=headers)
    assert status == 403 and json.loads(body)["error"]["type"] == "forbidden_origin"
    assert live.request("GET", "/queue", headers=headers)[0] == 403
    assert live.json("GET", "/queue")[1]["queue_pending"] == []


def test_matching_loopback_origin_is_accepted(live):
    for host in (f"127.0.0.1:{live.port}", f"localhost:{live.port}"):
        headers = {"Host": host, "Origin": f"http://{host}"}
        assert live.request("POST", "/prompt", {"prompt": simple_prompt()}, headers=headers)[0] == 200


def test_websocket_from_a_foreign_origin_is_refused(live):
    async def run():
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await session.ws_connect(f"{live.url}/ws", headers={"Origin": "http://evil.com"})
            return info.value.status

    assert asyncio.run(run()) == 403


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
@pytest.mark.parametrize("path", ["/prompt", "/api/queue", "/interrupt", "/free", "/history", "/settings"])
def test_b22_browser_simple_content_types_are_415(live, content_type, path):
    raw = json.dumps({"prompt": simple_prompt(), "clear": True}).encode()
    headers = {"Content-Type": content_type, "Sec-Fetch-Site": "cross-site"}
    status, _, body = live.request("POST", path, raw=raw, headers=headers)
    assert status == 415 and json.loads(body)["error"]["type"] == "unsupported_media_type"


def test_scripts_posting_json_as_form_still_work(live):
    # ComfyUI's own urllib examples send JSON with urllib's default form content type.
    raw = json.dumps({"prompt": simple_prompt()}).encode()
    status, _, _ = live.request("POST", "/prompt", raw=raw,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200


def test_token_required_by_header_query_or_cookie(make_live):
    live = make_live(config=ServerConfig(token="s3cret"))
    status, _, body = live.request("GET", "/queue")
    assert status == 401 and json.loads(body)["error"]["type"] == "unauthorized"
    assert live.request("GET", "/queue", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert live.request("GET", "/queue", headers={"Authorization": "Bearer s3cret"})[0] == 200
    status, headers, _ = live.request("GET", "/queue?token=s3cret")
    assert status == 200 and "latentgraph_token=s3cret" in headers["set-cookie"]
    assert live.request("GET", "/queue", headers={"Cookie": "latentgraph_token=s3cret"})[0] == 200
    assert live.request("POST", "/prompt", {"prompt": simple_prompt()},
                        headers={"Authorization": "Bearer s3cret"})[0] == 200

    async def ws_status(url):
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(url) as ws:
                    return (await ws.receive_json())["type"]
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    assert asyncio.run(ws_status(f"{live.url}/ws")) == 401
    assert asyncio.run(ws_status(f"{live.url}/ws?token=s3cret")) == "status"


def test_listen_rule():
    check_listen_security(["127.0.0.1", "::1", "localhost"], None, False)
    with pytest.raises(InsecureListenError, match="--token"):
        check_listen_security(["0.0.0.0"], None, False)
    check_listen_security(["0.0.0.0", "::"], "t", False)
    check_listen_security(["192.168.1.5"], None, True)


def test_loopback_names_and_host_origin_rules():
    assert is_loopback("127.0.0.2") and is_loopback("[::1]") and is_loopback("LOCALHOST")
    assert not is_loopback("evil.com") and not is_loopback("0.0.0.0") and not is_loopback("127.0.0.1.evil.com")
    assert check_host_origin({"Host": "localhost:8188", "Origin": "http://localhost:8188"}, True) is None
    assert check_host_origin({"Host": "evil.com"}, False) is None  # not bound to loopback: no allowlist
    assert check_host_origin({"Host": "evil.com", "Origin": "http://other.com"}, False) is not None
    assert check_host_origin({"Host": "[::1]:8188", "Origin": "http://[::1]:8188"}, True) is None
    assert check_host_origin({"Host": "localhost:8188", "Origin": "http://localhost:9999"}, True) is not None


@pytest.mark.parametrize("host,origin,scheme,ok", [
    ("127.0.0.1:8331", "http://127.0.0.1", "http", False),  # a page on port 80 (issue 20, item 6)
    ("127.0.0.1:8331", "https://127.0.0.1", "http", False),  # a page on port 443
    ("localhost:8188", "http://localhost", "http", False),
    ("127.0.0.1:8331", "https://127.0.0.1:8331", "http", False),  # same port, other scheme
    ("127.0.0.1", "http://127.0.0.1", "http", True),  # both port 80
    ("127.0.0.1", "http://127.0.0.1:80", "http", True),
    ("127.0.0.1:80", "http://127.0.0.1", "http", True),
    ("127.0.0.1", "https://127.0.0.1", "http", False),
    ("127.0.0.1", "https://127.0.0.1", "https", True),  # behind a TLS proxy
    ("127.0.0.1:443", "https://127.0.0.1", "https", True),
    ("127.0.0.1", "http://127.0.0.1", "https", False),
    ("127.0.0.1:8331", "http://127.0.0.1:8331", "http", True),
])
def test_origin_must_match_scheme_host_and_effective_port(host, origin, scheme, ok):
    reason = check_host_origin({"Host": host, "Origin": origin}, True, scheme)
    assert (reason is None) == ok, reason
    if not ok:
        assert origin in reason and "scheme, host and port" in reason


def test_a_page_on_the_default_port_is_refused_by_a_live_server(live):
    """Issue 20, item 6: `Origin: http://127.0.0.1` against `Host: 127.0.0.1:<port>` used to pass."""
    for method, path, body in [("GET", "/system_stats", None), ("POST", "/prompt", {"prompt": {}}),
                               ("GET", "/internal/logs", None), ("POST", "/userdata/x.json", {"a": 1})]:
        for origin in ("http://127.0.0.1", "https://127.0.0.1", f"https://127.0.0.1:{live.port}"):
            status, body_ = live.json(method, path, body, headers={"Origin": origin})
            assert status == 403 and body_["error"]["type"] == "forbidden_origin", (path, origin, status)
    assert live.json("GET", "/system_stats", headers={"Origin": f"http://127.0.0.1:{live.port}"})[0] == 200
    # A TLS-terminating proxy says so; the proxied page's origin then matches.
    headers = {"Host": "127.0.0.1", "Origin": "https://127.0.0.1", "X-Forwarded-Proto": "https"}
    assert live.json("GET", "/system_stats", headers=headers)[0] == 200
    assert live.json("GET", "/system_stats", headers={**headers, "X-Forwarded-Proto": "http"})[0] == 403


def test_websocket_from_a_page_on_the_default_port_is_refused(live):
    async def connect():
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await session.ws_connect(f"{live.url}/ws", headers={"Origin": "http://127.0.0.1"})
            return info.value.status

    assert asyncio.run(connect()) == 403


@pytest.mark.parametrize("headers", [{"Referer": "http://evil.com/page"}, {"Sec-Fetch-Mode": "no-cors"},
                                     {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1"}])
def test_b22_other_browser_markers_without_same_origin_proof_are_415(live, headers):
    headers = {"Content-Type": "text/plain", **headers}
    if "Origin" in headers:
        headers["Origin"] = f"http://127.0.0.1:{live.port}"
    assert live.request("POST", "/queue", raw=b'{"clear": true}', headers=headers)[0] == 415


def test_same_origin_editor_posting_form_encoded_json_is_accepted(live):
    # ComfyUI's editor sends settings through axios, i.e. as form-urlencoded JSON, from its own origin.
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{live.port}",
               "Sec-Fetch-Site": "same-origin"}
    assert live.request("POST", "/api/settings/Comfy.X", raw=b'"v"', headers=headers)[0] == 200
    assert live.json("GET", "/api/settings/Comfy.X")[1] == "v"
