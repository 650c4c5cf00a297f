"""`serve --ray` through the real HTTP/WebSocket API: the server's durable queue feeding two Ray workers of the
session's local cluster. Stand-in prompts (CountTo, PreviewAny) keep model loading out. One test, so the actors
start once: two prompts run at once with each client getting only its own events, in order; /interrupt and the
jobs cancel route reach the right worker; a worker killed mid-prompt has its prompt re-queued once and
finished by another, a second death fails it by restart, the dead are replaced and the next prompt runs;
/system_stats lists the workers; a worker is told the model files of the queued prompts it will probably run
next. The workers write into their own output folder (as on another machine): the
files a prompt saves reach the coordinator's folder and /view, under another name when one is taken."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("ray")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from server_harness import LiveServer, collect_ws, done_for  # noqa: E402

from app.cluster.actor import parse_engine_args  # noqa: E402
from app.cluster.pool import ActorSpec, RayRunnerPool  # noqa: E402
from app.cluster.serve import attach  # noqa: E402
from app.engine import build_engine  # noqa: E402
from graph.validate import validate_prompt  # noqa: E402
from server.app import create_app  # noqa: E402
from server.config import ServerConfig  # noqa: E402
from server.state import STATE  # noqa: E402


class RayLiveServer(LiveServer):
    """LiveServer (tests/server/server_harness.py) whose executor is a Ray pool, attached as cmd_serve does."""

    def __init__(self, root: Path, engine, pool: RayRunnerPool) -> None:
        self.root, self.runtime, self.registry, self.executor = root, engine.runtime, engine.registry, pool
        self.config = ServerConfig(db_synchronous="NORMAL")
        self.app = create_app(registry=engine.registry, runtime=engine.runtime, store_path=root / "queue.db",
                              config=self.config, executor=pool, validator=validate_prompt)
        attach(self.app, pool)
        self.state = self.app[STATE]
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("server did not start")
        self.url = f"http://127.0.0.1:{self.port}"


def _count(steps: int, seconds: float) -> dict:
    return {"1": {"class_type": "CountTo", "inputs": {"steps": steps, "seconds_per_step": seconds}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


def _save(color: int) -> dict:
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": color}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "far"}}}


def _wait(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _running_ids(server) -> set[str]:
    status, queue = server.json("GET", "/queue")
    return {entry[1] for entry in queue["queue_running"]}


def _worker_of(server, prompt_id: str) -> dict:
    def find():
        status, stats = server.json("GET", "/system_stats")
        return next((w for w in stats["workers"] if w["busy_prompt"] == prompt_id and "pid" in w), None)
    return _wait(find, what=f"the worker of {prompt_id}")


def _both_clients(server, first: tuple[str, dict], second: tuple[str, dict]) -> tuple[list, list, dict]:
    """Queue one prompt per client with both WebSockets open; the messages each got, and the prompt ids.
    Both prompts are seen running at the same time in /queue."""
    ids: dict[str, str] = {}

    def until(client):
        return lambda messages: client in ids and done_for(ids[client])(messages)

    def queue_both() -> None:
        time.sleep(0.3)  # both sockets are open
        for client, prompt in (first, second):
            ids[client] = server.queue_prompt(prompt, client_id=client)["prompt_id"]
        _wait(lambda: _running_ids(server) == {ids[first[0]], ids[second[0]]}, what="both running at once")

    async def run():
        queued = asyncio.create_task(asyncio.to_thread(queue_both))
        got = await asyncio.gather(collect_ws(server.url, first[0], until(first[0])),
                                   collect_ws(server.url, second[0], until(second[0])))
        await queued
        return got

    got_first, got_second = asyncio.run(run())
    return got_first, got_second, ids


def _progress_of(messages: list, prompt_id: str) -> list[int]:
    return [m["data"]["value"] for m in messages
            if isinstance(m, dict) and m["type"] == "progress" and m["data"].get("prompt_id") == prompt_id]


def test_serve_ray_through_the_api(tmp_path, ray_cluster):
    argv = ["--base-directory", str(tmp_path / "base"), "--cpu", "--disable-all-custom-nodes"]
    engine = build_engine(parse_engine_args(argv))
    engine.folders.ensure_dirs()
    worker_out = tmp_path / "worker-output"  # the workers' own folder, which the coordinator does not read
    spec = ActorSpec(engine_args=[*argv, "--output-directory", str(worker_out)], num_cpus=0.5,
                     namespace=f"lg-test-{uuid.uuid4().hex[:8]}", prefix="sw",
                     deliver_to={kind: str(engine.folders.directory(kind)) for kind in ("output", "temp")})
    pool = RayRunnerPool(spec, 2)
    server = RayLiveServer(tmp_path, engine, pool)
    try:
        # Two prompts run at once, one per worker; each client gets its own events, in order.
        got_a, got_b, ids = _both_clients(server, ("client-a", _count(20, 0.05)), ("client-b", _count(21, 0.05)))
        assert _progress_of(got_a, ids["client-a"]) == list(range(1, 21))
        assert _progress_of(got_b, ids["client-b"]) == list(range(1, 22))
        assert not _progress_of(got_a, ids["client-b"]) and not _progress_of(got_b, ids["client-a"])
        for client, steps in (("client-a", 20), ("client-b", 21)):
            entry = server.wait_done(ids[client])
            assert entry["status"]["status_str"] == "success" and entry["outputs"]["2"]["text"] == [str(steps)]

        # /interrupt with a prompt id stops that prompt only; the jobs cancel route stops the other.
        first = server.queue_prompt(_count(400, 0.05), client_id="client-a")["prompt_id"]
        second = server.queue_prompt(_count(401, 0.05), client_id="client-b")["prompt_id"]
        _wait(lambda: _running_ids(server) == {first, second}, what="both running")
        assert server.json("POST", "/interrupt", {"prompt_id": first})[0] == 200
        assert server.wait_done(first)["status"]["status_str"] == "error"
        assert server.state.store.status_of(first) == "interrupted" and _running_ids(server) == {second}
        assert server.json("POST", f"/api/jobs/{second}/cancel") == (200, {"id": second, "cancelled": "in_progress"})
        server.wait_done(second)
        assert server.state.store.status_of(second) == "cancelled"

        # /system_stats lists both workers, idle, with their process and device.
        _, stats = server.json("GET", "/system_stats")
        assert {w["worker_id"] for w in stats["workers"]} == {"sw0-0", "sw1-0"}
        assert all(w["alive"] and w["busy_prompt"] is None and w["pid"] for w in stats["workers"])

        # Queue-aware eviction reaches the workers: a worker taking a prompt is told the model files of the queued
        # prompts it will probably run next, resolved in its own folders (here nobody holds next.safetensors).
        checkpoint = Path(engine.folders.model_paths("checkpoints")[0]) / "next.safetensors"
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.write_bytes(b"never loaded: the prompt naming it is deleted before it runs")
        loads = {"9": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "next.safetensors"}},
                 "10": {"class_type": "PreviewAny", "inputs": {"source": ["9", 0]}}}
        busy = [server.queue_prompt(_count(400, 0.05), client_id=c)["prompt_id"] for c in ("client-a", "client-b")]
        _wait(lambda: _running_ids(server) == set(busy), what="both busy")
        then = server.queue_prompt(_count(400, 0.05), client_id="client-a")["prompt_id"]
        later = server.queue_prompt(loads, client_id="client-a")["prompt_id"]
        server.json("POST", "/interrupt", {"prompt_id": busy[0]})
        assert _worker_of(server, then)["needed_soon"] == [str(checkpoint.resolve())]
        assert server.json("POST", "/queue", {"delete": [later]})[0] == 200
        for prompt_id in (then, busy[1]):
            server.json("POST", "/interrupt", {"prompt_id": prompt_id})
            server.wait_done(prompt_id)

        # A saved file reaches the coordinator's output folder and /view; the coordinator already holds another
        # far_00001_.png, so the worker's is stored under its content hash, and the history names that.
        taken = Path(engine.folders.directory("output")) / "far_00001_.png"
        taken.write_bytes(b"another file")
        saved = server.wait_done(server.queue_prompt(_save(0xFF0000))["prompt_id"])
        (image,) = saved["outputs"]["2"]["images"]
        assert image["filename"].startswith("far_00001__") and image["type"] == "output"
        assert (worker_out / "far_00001_.png").is_file() and taken.read_bytes() == b"another file"
        status, headers, body = server.request("GET", f"/view?filename={image['filename']}&type=output")
        assert status == 200 and body == (worker_out / "far_00001_.png").read_bytes()

        # A worker killed mid-prompt: its prompt is re-queued and finishes on the other worker.
        lost = server.queue_prompt(_count(40, 0.05), client_id="client-a")["prompt_id"]
        victim = _worker_of(server, lost)
        os.kill(victim["pid"], signal.SIGKILL)
        rerun = _worker_of(server, lost)
        assert rerun["worker_id"] != victim["worker_id"]
        entry = server.wait_done(lost)
        assert entry["status"]["status_str"] == "success" and entry["outputs"]["2"]["text"] == ["40"]

        # Killed twice, a prompt is failed by restart (as after two crashes of the server).
        doomed = server.queue_prompt(_count(400, 0.05), client_id="client-b")["prompt_id"]
        for _ in range(2):
            os.kill(_worker_of(server, doomed)["pid"], signal.SIGKILL)
        entry = server.wait_done(doomed, timeout=60)
        assert server.state.store.status_of(doomed) == "failed_by_restart"
        assert entry["status"]["messages"][-1][1]["exception_type"] == "FailedByRestart"

        # The dead were replaced: two live workers again, and the next prompts run.
        _wait(lambda: pool.replaced == 3 and len(pool.lane_runners()) == 2, timeout=60, what="replacements")
        after = [server.queue_prompt(_count(3, 0.0), client_id="client-a")["prompt_id"] for _ in range(2)]
        assert all(server.wait_done(p, timeout=60)["status"]["status_str"] == "success" for p in after)
        _, stats = server.json("GET", "/system_stats")
        assert len(stats["workers"]) == 2 and {"sw0-0", "sw1-0"}.isdisjoint(w["worker_id"] for w in stats["workers"])
    finally:
        server.stop()
        pool.shutdown()
