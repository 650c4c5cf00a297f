"""Host memory of a real server around /free: a full-size SD1.5 prompt, /free, the same prompt again.

    python bench/free_memory.py [--cache-dir DIR] [--steps 2] [--size 256] [--port 8231]

Starts `main.py` (CPU, defaults) on a fresh base folder whose checkpoints folder links to the
full-size SD1.5-layout checkpoint of bench/sampling.py (written once by `make-checkpoint`), queues
CheckpointLoaderSimple -> CLIPTextEncode x2 -> KSampler -> VAEDecode -> SaveImage over HTTP, then
POST /free {"unload_models": true}, then the same prompt with a new seed. After each step it prints
the server's resident memory (VmRSS, and its anonymous and file-backed parts from /proc) and the
models /system_stats lists with their placement: on a CPU run /free moves every model's weights to
files under temp/weights ("disk"), and the next prompt runs from them. Peak RSS of the server is
printed last (VmHWM). Linux only (reads /proc). The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sampling import NEGATIVE, POSITIVE, ensure_checkpoint  # noqa: E402


def prompt_for(checkpoint: str, seed: int, steps: int, size: int) -> dict:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": size, "height": size, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": POSITIVE, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": NEGATIVE, "clip": ["4", 1]}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": steps, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
            "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "bench_free", "images": ["8", 0]}},
    }


class Server:
    """`main.py` on `base` and `port`, driven over HTTP."""

    def __init__(self, base: Path, port: int, log_path: Path):
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "main.py", "--base-directory", str(base), "--port", str(port),
                   "--disable-all-custom-nodes", "--follow-outside-symlinks"]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                self.get("/system_stats")
                return
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"the server stopped; see {log_path}") from None
                time.sleep(0.5)
        raise SystemExit(f"the server did not answer; see {log_path}")

    def get(self, path: str):
        return json.loads(urllib.request.urlopen(self.url + path, timeout=60).read())

    def post(self, path: str, body: dict):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(request, timeout=120).read() or b"{}")

    def run(self, prompt: dict) -> float:
        started = time.perf_counter()
        prompt_id = self.post("/prompt", {"prompt": prompt})["prompt_id"]
        while True:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history:
                status = history[prompt_id]["status"]["status_str"]
                if status != "success":
                    raise SystemExit(f"the prompt ended with {status}")
                return time.perf_counter() - started
            time.sleep(0.5)

    def memory(self) -> dict:
        """The server's VmRSS, RssAnon, RssFile and VmHWM in GB."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                fields[name] = int(value.split()[0]) / 2**20
        return fields

    def models(self) -> list[str]:
        return [f"{m['model']} {m['placement']} {m['bytes'] / 2**20:.0f} MB" for m in self.get("/system_stats")["models"]]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "latentgraph-bench"))
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--port", type=int, default=8231)
    args = parser.parse_args(argv)
    checkpoint = ensure_checkpoint(Path(args.cache_dir))
    summary: dict = {}
    with tempfile.TemporaryDirectory(prefix="latentgraph-bench-free-") as tmp:
        base = Path(tmp)
        folder = base / "models" / "checkpoints"
        folder.mkdir(parents=True)
        (folder / checkpoint.name).symlink_to(checkpoint)
        server = Server(base, args.port, base / "server.log")
        try:
            steps = [("first prompt", lambda: server.run(prompt_for(checkpoint.name, 1, args.steps, args.size))),
                     ("/free", lambda: (server.post("/free", {"unload_models": True}), time.sleep(2))),
                     ("second prompt", lambda: server.run(prompt_for(checkpoint.name, 2, args.steps, args.size)))]
            for name, step in steps:
                started = time.perf_counter()
                step()
                took = time.perf_counter() - started
                memory = server.memory()
                print(f"after {name} ({took:.1f} s): RSS {memory['VmRSS']:.2f} GB (anonymous {memory['RssAnon']:.2f},"
                      f" file-backed {memory['RssFile']:.2f}); models: {', '.join(server.models()) or 'none'}",
                      flush=True)
                summary[f"rss_gb_after_{name.strip('/').replace(' ', '_')}"] = round(memory["VmRSS"], 2)
            summary["peak_rss_gb"] = round(server.memory()["VmHWM"], 2)
            print(f"peak RSS of the server: {summary['peak_rss_gb']:.2f} GB")
        finally:
            server.stop()
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
