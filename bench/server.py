"""Benchmark of the server: accept latency under load, event delivery, memory, and kill -9 safety.

Run: .venv/bin/python bench/server.py [--prompts 1000] [--clients 50] [--stalled 5] [--rounds 10] [--no-huge-latents]

Starts `python main.py` (real utility nodes: IntMath -> PreviewAny) in a temporary folder.
Phase 1: `--clients` WebSocket clients connect (`--stalled` of them never read: raw sockets
that stop after the handshake); `--prompts` prompts are queued one after another, each for
one of the reading clients, while /queue is polled. Measured: /prompt accept latency
(p50/p99), /queue latency (p99), events lost (of execution_start, execution_success and the
final executing{node: null} that every prompt's client must get), the server's peak RSS.
Phase 2: `--rounds` times, prompts (some slow) are queued and the server is killed with
SIGKILL at a random moment; after each restart every prompt ever submitted must be found
finished, still queued or explicitly failed (prompt ids are chosen by the client, so a
request cut off by the kill is counted when the server had committed it).

Before them, the worst error bodies of `--error-nodes` (20,000) node prompts: a ring of
LatentUpscaleBy nodes, nodes that each have bad inputs, links given as literals, unknown classes,
through graph.validate.validate_prompt with the real registry (bytes of to_json(); target <= 1 MB).
After them, the two huge-latent prompts of issue 20 (EmptyLatentImage 16384x16384 and 64x64 with
batch 4096, shown by PreviewAny) are posted to a fresh server: its answers and RSS before, after and
at peak (they are refused before allocating, so this is cheap; `--no-huge-latents` skips it).

The last line is a JSON object with prompt_p50_ms, prompt_p99_ms, queue_p99_ms, events_lost,
peak_rss_mb, kill9_rounds, kill9_consistent_rounds (targets: p99 <= 50 ms, 0 lost, all consistent),
largest_error_body_bytes, error_body_bytes, and the huge-latent figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent


def quick_prompt(i: int) -> dict:
    return {"1": {"class_type": "IntMath", "inputs": {"a": i, "b": 3, "operation": "multiply"}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


def slow_prompt(i: int) -> dict:
    return {"1": {"class_type": "CountTo", "inputs": {"steps": 20 + i % 7, "seconds_per_step": 0.01}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


class Server:
    """`python main.py --port 0` in `base`; the port is read from its log."""

    def __init__(self, base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.log_path = base / "serve.log"
        seen = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "main.py", "--port", "0", "--base-directory", str(base),
                                      "--disable-all-custom-nodes"], cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", self.log_path.read_bytes()[seen:])
            if found:
                self.port = int(found.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("server did not start:\n" + self.log_path.read_text()[-3000:])

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        self.log.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def stalled_socket(port: int, client_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws?clientId={client_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    return sock


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)


async def load_phase(server: Server, prompts: int, clients: int, stalled: int) -> dict:
    reading = [f"bench-{i}-{uuid.uuid4().hex[:8]}" for i in range(clients - stalled)]
    stalled_socks = [stalled_socket(server.port, f"stalled-{i}") for i in range(stalled)]
    received: dict[str, set] = {}
    sampler = RssSampler(server.proc.pid)
    sampler.start()
    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(f"{server.url}/ws?clientId={cid}") for cid in reading]

        async def reader(ws):
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                event = json.loads(msg.data)
                data = event.get("data") or {}
                pid = data.get("prompt_id")
                if pid is None:
                    continue
                name = event["type"]
                if name == "executing" and data.get("node") is None:
                    name = "done"
                received.setdefault(pid, set()).add(name)

        readers = [asyncio.ensure_future(reader(ws)) for ws in sockets]
        queue_latencies: list[float] = []
        submitting = True

        async def poll_queue():
            while submitting:
                started = time.perf_counter()
                async with session.get(f"{server.url}/queue") as response:
                    await response.read()
                queue_latencies.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.05)

        poller = asyncio.ensure_future(poll_queue())
        accept: list[float] = []
        expected: dict[str, str] = {}
        for i in range(prompts):
            body = {"prompt": quick_prompt(i), "client_id": reading[i % len(reading)]}
            started = time.perf_counter()
            async with session.post(f"{server.url}/prompt", json=body) as response:
                payload = await response.json()
            accept.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"prompt refused: {payload}")
            expected[payload["prompt_id"]] = body["client_id"]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            async with session.get(f"{server.url}/prompt") as response:
                if (await response.json())["exec_info"]["queue_remaining"] == 0:
                    break
            await asyncio.sleep(0.1)
        submitting = False
        await poller
        await asyncio.sleep(1.0)  # let the last events arrive
        for task in readers:
            task.cancel()
        for ws in sockets:
            await ws.close()
    sampler.running = False
    for sock in stalled_socks:
        sock.close()
    wanted = {"execution_start", "execution_success", "done"}
    lost = sum(len(wanted - received.get(pid, set())) for pid in expected)
    return {"prompt_p50_ms": round(statistics.median(accept), 2), "prompt_p99_ms": round(percentile(accept, 0.99), 2),
            "queue_p99_ms": round(percentile(queue_latencies, 0.99), 2), "events_lost": lost,
            "peak_rss_mb": round(sampler.peak / 2**20, 1)}


def http_json(port: int, method: str, path: str, body=None, timeout: float = 10):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, (json.loads(payload) if payload.strip() else None)


def known_ids(port: int) -> tuple[set, set, set]:
    """(finished successfully, explicitly failed or interrupted, still queued).

    The queue is read before the history: a prompt finishing in between then shows in both
    (and counts as finished), never in neither."""
    queue = http_json(port, "GET", "/queue")[1]
    history = http_json(port, "GET", "/history")[1]
    finished = {pid for pid, e in history.items() if e["status"]["status_str"] == "success"}
    failed = set(history) - finished
    queued = {item[1] for item in queue["queue_running"] + queue["queue_pending"]} - set(history)
    return finished, failed, queued


def submit_until(stop: threading.Event, port: int, round_index: int, acknowledged: set, maybe: set) -> None:
    """Queue prompts (every tenth one slow) with client-chosen ids until `stop` or the server dies."""
    i = 0
    while not stop.is_set():
        pid = str(uuid.uuid4())  # ComfyUI v0.46 takes only canonical UUIDs as client-chosen ids
        prompt = slow_prompt(i) if i % 10 == 0 else quick_prompt(i + 1000 * round_index)
        maybe.add(pid)
        try:
            status, _ = http_json(port, "POST", "/prompt", {"prompt": prompt, "prompt_id": pid}, timeout=5)
        except OSError:
            return
        if status == 200:
            acknowledged.add(pid)
            maybe.discard(pid)
        i += 1
        time.sleep(0.005)


def kill_phase(base: Path, rounds: int, rng: random.Random) -> tuple[int, list[dict]]:
    acknowledged: set[str] = set()
    maybe: set[str] = set()  # in flight when the server died
    consistent = 0
    details = []
    server = Server(base)
    for round_index in range(rounds):
        stop = threading.Event()

        thread = threading.Thread(target=submit_until, args=(stop, server.port, round_index, acknowledged, maybe),
                                  daemon=True)
        thread.start()
        time.sleep(rng.uniform(0.2, 1.5))
        server.kill9()
        stop.set()
        thread.join(10)
        server = Server(base)
        finished, failed, queued = known_ids(server.port)
        found = finished | failed | queued
        committed_in_flight = maybe & found
        submitted = acknowledged | committed_in_flight
        ok = (not (acknowledged - found)) and found <= submitted and \
            len(submitted) == len(finished) + len(failed) + len(queued)
        consistent += ok
        acknowledged.update(committed_in_flight)
        maybe.clear()
        details.append({"round": round_index + 1, "submitted": len(submitted), "finished": len(finished),
                        "failed": len(failed), "queued": len(queued), "consistent": ok})
        print(f"kill -9 round {round_index + 1}: submitted {len(submitted)} = finished {len(finished)} + "
              f"failed {len(failed)} + queued {len(queued)} -> {'ok' if ok else 'MISMATCH'}", flush=True)
    server.stop()
    return consistent, details


def worst_error_prompts(n: int) -> dict[str, dict]:
    """Prompts of `n` nodes built to make validation report as much as it can."""
    ring = {str(i): {"class_type": "LatentUpscaleBy", "inputs": {"samples": [str((i - 1) % (n - 2)), 0],
                                                                 "upscale_method": "nearest-exact", "scale_by": 1.5}}
            for i in range(n - 2)}
    ring["decode"] = {"class_type": "VAEDecode", "inputs": {"samples": ["0", 0], "vae": ["missing", 0]}}
    ring["out"] = {"class_type": "PreviewImage", "inputs": {"images": ["decode", 0]}}
    bad_inputs = {}
    for i in range(n // 2):
        bad_inputs[f"m{i}"] = {"class_type": "IntMath", "inputs": {"a": "abc", "b": 2**64, "operation": "nope"}}
        bad_inputs[f"p{i}"] = {"class_type": "PreviewAny", "inputs": {"source": [f"m{i}", 0]}}
    literal_links = {str(i): {"class_type": "SaveImage", "inputs": {"images": {"x": i}, "filename_prefix": ""}}
                     for i in range(n)}
    unknown = {str(i): {"class_type": f"Unknown{i}", "inputs": {"x": ["0", 0]}} for i in range(n)}
    return {"ring": ring, "bad_inputs": bad_inputs, "literal_links": literal_links, "unknown_classes": unknown}


def error_body_sizes(n: int) -> dict[str, int]:
    """Bytes of the 400 body (graph.validate.validate_prompt with the real registry, to_json) per worst case."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from graph.validate import validate_prompt
    from nodes.api.runtime import NodeRuntime
    from nodes.build import build_registry

    with tempfile.TemporaryDirectory(prefix="lg-bench-errors-") as tmp:
        runtime = NodeRuntime.for_directory(tmp)
        registry, _ = build_registry(runtime, [])
        sizes = {}
        for name, prompt in worst_error_prompts(n).items():
            result = validate_prompt(prompt, registry)
            if result.ok:
                raise RuntimeError(f"the worst case {name!r} passed validation")
            sizes[name] = len(json.dumps(result.to_json()).encode())
    return sizes


def huge_latent_prompts() -> list[dict]:
    """The two latents of issue 20 item 2, each shown by PreviewAny (no model needed)."""
    return [{"1": {"class_type": "EmptyLatentImage", "inputs": {"width": w, "height": h, "batch_size": b}},
             "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
            for w, h, b in ((16384, 16384, 1), (64, 64, 4096))]


def huge_latent_rss(base: Path) -> dict:
    """RSS of a real server before and after the two huge-latent prompts (accepted or refused)."""
    server = Server(base)
    try:
        http_json(server.port, "POST", "/prompt", {"prompt": quick_prompt(1), "prompt_id": "warm-up"})
        wait_history(server.port, ["warm-up"])
        process = psutil.Process(server.proc.pid)
        before = process.memory_info().rss
        sampler = RssSampler(server.proc.pid)
        sampler.start()
        answers, accepted = [], []
        for prompt in huge_latent_prompts():
            status, body = http_json(server.port, "POST", "/prompt", {"prompt": prompt}, timeout=120)
            answers.append(status)
            if status == 200:
                accepted.append(body["prompt_id"])
        wait_history(server.port, accepted)
        after = process.memory_info().rss
        sampler.running = False
    finally:
        server.stop()
    return {"huge_latent_answers": answers, "rss_before_huge_latents_mb": round(before / 2**20, 1),
            "rss_after_huge_latents_mb": round(after / 2**20, 1),
            "peak_rss_huge_latents_mb": round(max(sampler.peak, after) / 2**20, 1)}


def wait_history(port: int, prompt_ids: list[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = http_json(port, "GET", "/history")[1]
        if all(pid in history for pid in prompt_ids):
            return
        time.sleep(0.1)
    raise RuntimeError(f"prompts {prompt_ids} did not finish in {timeout} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--stalled", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--error-nodes", type=int, default=20000, help="nodes in the worst-case error prompts")
    parser.add_argument("--no-huge-latents", dest="huge_latents", action="store_false",
                        help="skip posting the two huge-latent prompts (16384x16384, 64x64 x 4096) to a real server")
    args = parser.parse_args(argv)
    sizes = error_body_sizes(args.error_nodes)
    for name, size in sizes.items():
        print(f"error body of the {args.error_nodes}-node {name} prompt: {size} bytes", flush=True)
    with tempfile.TemporaryDirectory(prefix="lg-bench-") as tmp:
        base = Path(tmp)
        server = Server(base / "load")
        try:
            figures = asyncio.run(load_phase(server, args.prompts, args.clients, args.stalled))
        finally:
            server.stop()
        print(f"/prompt accept p50 {figures['prompt_p50_ms']} ms, p99 {figures['prompt_p99_ms']} ms; "
              f"/queue p99 {figures['queue_p99_ms']} ms; events lost {figures['events_lost']}; "
              f"peak RSS {figures['peak_rss_mb']} MB", flush=True)
        (base / "kill").mkdir()
        consistent, _ = kill_phase(base / "kill", args.rounds, random.Random(args.seed))
        figures.update({"kill9_rounds": args.rounds, "kill9_consistent_rounds": consistent,
                        "largest_error_body_bytes": max(sizes.values()), "error_body_bytes": sizes})
        if args.huge_latents:
            figures.update(huge_latent_rss(base / "latents"))
            print(f"huge latents answered {figures['huge_latent_answers']}; server RSS "
                  f"{figures['rss_before_huge_latents_mb']} MB before, {figures['rss_after_huge_latents_mb']} MB "
                  f"after (peak {figures['peak_rss_huge_latents_mb']} MB)", flush=True)
        else:
            print("huge latents skipped (--no-huge-latents)", flush=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
