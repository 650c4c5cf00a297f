"""Running the stub server in a subprocess (restart tests, benchmark)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "serve_stub_main.py"


class ServerProcess:
    def __init__(self, root: Path, *, synchronous: str = "FULL") -> None:
        self.root = Path(root)
        self.port_file = self.root / "port.txt"
        self.port_file.unlink(missing_ok=True)
        self.log = open(self.root / "server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, str(SCRIPT), str(self.root), "--port-file", str(self.port_file),
                                      "--synchronous", synchronous], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(self.root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.02)
        self.port = int(self.port_file.read_text())

    def json(self, method: str, path: str, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        return response.status, (json.loads(payload) if payload.strip() else None)

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def terminate(self, timeout: float = 20) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.log.close()
        return code

    def wait_until(self, check, timeout: float = 20, interval: float = 0.02):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError("condition not reached in time")

    def running_ids(self) -> list[str]:
        return [item[1] for item in self.json("GET", "/queue")[1]["queue_running"]]
