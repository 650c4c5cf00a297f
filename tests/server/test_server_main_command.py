"""`python main.py` (app/cmd_serve.py) end to end: flags, the listen rule, and kill -9 with real nodes."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(base: Path) -> tuple[subprocess.Popen, int]:
    log_path = base / "serve.log"
    seen = log_path.stat().st_size if log_path.exists() else 0
    log = open(log_path, "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "main.py", "--port", "0", "--base-directory", str(base),
                             "--disable-all-custom-nodes"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log_path.read_bytes()[seen:].decode())
        if match:
            return proc, int(match.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise AssertionError((base / "serve.log").read_text()[-3000:])


def call(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, (json.loads(payload) if payload.strip() else None)


def wait(check, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_non_loopback_listen_without_token_is_refused():
    result = subprocess.run([sys.executable, "main.py", "--listen", "0.0.0.0", "--port", "0"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--token" in result.stderr and "--unsafe-no-token" in result.stderr


def test_front_end_comfyui_without_the_package_is_a_clear_error(monkeypatch):
    import argparse

    from app.cmd_serve import front_end_root

    monkeypatch.setitem(sys.modules, "comfyui_frontend_package", None)  # import now fails
    args = argparse.Namespace(front_end="comfyui", front_end_root=None)
    with pytest.raises(SystemExit, match="pip install comfyui-frontend-package"):
        front_end_root(args)
    assert front_end_root(argparse.Namespace(front_end="ours", front_end_root=Path("/x"))) == Path("/x")


@pytest.mark.slow
def test_main_py_kill9_mid_node_then_restart_runs_everything(tmp_path):
    proc, port = start(tmp_path)
    slow = {"1": {"class_type": "CountTo", "inputs": {"steps": 2000, "seconds_per_step": 0.01}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    quick = {"1": {"class_type": "IntMath", "inputs": {"a": 4, "b": 5, "operation": "multiply"}},
             "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    slow_id = call(port, "POST", "/prompt", {"prompt": slow})[1]["prompt_id"]
    quick_id = call(port, "POST", "/prompt", {"prompt": quick})[1]["prompt_id"]
    wait(lambda: [i[1] for i in call(port, "GET", "/queue")[1]["queue_running"]] == [slow_id])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)

    proc, port = start(tmp_path)
    try:
        assert [i[1] for i in call(port, "GET", "/queue")[1]["queue_running"]] == [slow_id]
        call(port, "POST", "/interrupt", {"prompt_id": slow_id})  # the re-queued prompt is running again
        entry = wait(lambda: call(port, "GET", f"/history/{quick_id}")[1].get(quick_id))
        assert entry["outputs"]["2"]["text"] == ["20"]
        assert "execution_interrupted" in dict(call(port, "GET", f"/history/{slow_id}")[1][slow_id]["status"]["messages"])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


BROKEN_PACKS = {
    "syntax_error": "def broken(:\n",
    "import_error": "import module_that_does_not_exist_anywhere\n",
    "raises": "raise RuntimeError('pack refuses to load')\n",
}
GOOD_PACK = '''
class GoodPackNode:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 1})}}
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "test"
    def run(self, value):
        return (value,)

NODE_CLASS_MAPPINGS = {"GoodPackNode": GoodPackNode}
WEB_DIRECTORY = "./web"
'''


@pytest.mark.slow
def test_f18_broken_custom_node_packs_are_skipped_and_the_server_starts(tmp_path):
    packs = tmp_path / "custom_nodes"
    for name, source in BROKEN_PACKS.items():
        (packs / name).mkdir(parents=True)
        (packs / name / "__init__.py").write_text(source)
    (packs / "good_pack" / "web").mkdir(parents=True)
    (packs / "good_pack" / "__init__.py").write_text(GOOD_PACK)
    (packs / "good_pack" / "web" / "good.js").write_text("// good")
    log = tmp_path / "serve.log"
    with open(log, "ab") as handle:
        proc = subprocess.Popen([sys.executable, "main.py", "--port", "0", "--base-directory", str(tmp_path)], cwd=ROOT,
                                stdout=handle, stderr=subprocess.STDOUT)
    try:
        port = int(wait(lambda: re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read_text()), 60).group(1))
        info = call(port, "GET", "/object_info")[1]
        assert "GoodPackNode" in info and "IntMath" in info
        assert "/extensions/good_pack/good.js" in call(port, "GET", "/extensions")[1]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/extensions/good_pack/good.js")
        assert conn.getresponse().read() == b"// good"
        text = log.read_text()
        assert all(name in text for name in BROKEN_PACKS), text[-3000:]
        # the editor's log panel (GET /internal/logs) shows the same console, pack errors included
        status, served = call(port, "GET", "/internal/logs")
        assert status == 200 and "listening on" in served and all(name in served for name in BROKEN_PACKS)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
