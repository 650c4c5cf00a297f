"""`main.py serve --ray ADDRESS --workers 2` as a real process on the session's Ray cluster, killed with SIGKILL
while prompts are queued and running, and started again on the same base directory: every prompt finishes once
(the running ones re-queued by the durable queue), and the restarted coordinator goes on with the workers of the
one before, the replacement of a worker lost earlier included (same actors, same processes, their caches kept),
after they dropped the prompts they still ran for the dead coordinator."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[2]


def _count(steps: int, seconds: float) -> dict:
    return {"1": {"class_type": "CountTo", "inputs": {"steps": steps, "seconds_per_step": seconds}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Coordinator:
    def __init__(self, argv: list[str], port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "serve", *argv, "--port", str(port)],
                                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict):
        request = urllib.request.Request(self.url + path, json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def wait(self, condition, what: str, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the coordinator exited ({self.process.returncode}):\n"
                                     + self.log.read_text()[-3000:])
            try:
                value = condition()
            except OSError:  # not listening yet
                value = None
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}:\n" + self.log.read_text()[-3000:])

    def workers(self) -> dict[str, dict]:
        return {w["worker_id"]: w for w in self.get("/system_stats").get("workers", []) if "pid" in w}

    def queue_state(self) -> tuple[set[str], set[str]]:
        queue = self.get("/queue")
        return {e[1] for e in queue["queue_running"]}, {e[1] for e in queue["queue_pending"]}

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


def test_coordinator_killed_and_restarted_loses_nothing_and_reattaches(tmp_path, ray_cluster):
    ray = ray_cluster
    namespace = f"lg-restart-{uuid.uuid4().hex[:8]}"
    argv = ["--ray", ray.get_runtime_context().gcs_address, "--workers", "2", "--ray-worker-cpus", "0.5",
            "--ray-namespace", namespace, "--base-directory", str(tmp_path / "base"), "--cpu",
            "--disable-all-custom-nodes"]
    log = tmp_path / "coordinator.log"
    first = Coordinator(argv, _free_port(), log)
    second = None
    try:
        first.wait(lambda: len(first.workers()) == 2, "two workers")

        # A worker killed mid-prompt is replaced by its slot's next generation; the prompt finishes elsewhere.
        lost = first.post("/prompt", {"prompt": _count(40, 0.05)})["prompt_id"]
        victim = first.wait(lambda: next((w for w in first.workers().values() if w["busy_prompt"] == lost), None),
                            "the worker of the first prompt")
        os.kill(victim["pid"], signal.SIGKILL)
        first.wait(lambda: first.get(f"/history/{lost}"), "the lost prompt to finish elsewhere")
        workers = first.wait(lambda: (w := first.workers()) and len(w) == 2 and victim["worker_id"] not in w and w,
                             "the replacement")
        replacement = victim["worker_id"].removesuffix("-0") + "-1"
        assert replacement in workers

        # Five prompts queued, two running: the coordinator is killed under them. The two run long enough to be
        # still running on their workers when the restarted coordinator reattaches (which must stop them).
        steps = [80, 81, 10, 11, 12]
        ids = [first.post("/prompt", {"prompt": _count(n, 0.05), "client_id": f"c{i}"})["prompt_id"]
               for i, n in enumerate(steps)]
        first.wait(lambda: first.queue_state() == (set(ids[:2]), set(ids[2:])), "two running, three queued")
        first.kill()

        # Restarted on the same base directory: the same actors (same processes), which take the re-queued prompts.
        second = Coordinator(argv, _free_port(), log)
        again = second.wait(lambda: len(w := second.workers()) == 2 and w, "the reattached workers")
        assert {k: v["pid"] for k, v in again.items()} == {k: v["pid"] for k, v in workers.items()}
        for i, prompt_id in enumerate(ids):
            entry = second.wait(lambda p=prompt_id: second.get(f"/history/{p}").get(p), f"prompt {i}")
            assert entry["status"]["status_str"] == "success" and entry["outputs"]["2"]["text"] == [str(steps[i])]
            names = [message[0] for message in entry["status"]["messages"]]
            assert names.count("execution_start") == 1 and names[-1] == "execution_success"
        history = second.get("/history")
        assert set(history) == {lost, *ids}
        assert second.queue_state() == (set(), set())
        assert {k: v["pid"] for k, v in second.workers().items()} == {k: v["pid"] for k, v in workers.items()}
    finally:
        for coordinator in (first, second):
            if coordinator is not None:
                coordinator.kill()
        for entry in ray.util.list_named_actors(all_namespaces=True):  # detached: they outlive the coordinator
            if entry["namespace"] == namespace:
                ray.kill(ray.get_actor(entry["name"], namespace=namespace), no_restart=True)
