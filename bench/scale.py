"""Scale-out benchmark: simulated prompts (CountTo sleeping a fixed time) on 1, 2, 4 and 8 Ray workers.

    python bench/scale.py [--prompts-per-worker 12] [--seconds 0.25] [--workers 1,2,4,8]

Each prompt sleeps `--seconds` in 5 steps (no compute), so the ideal throughput of N workers is N
times one worker's. Per worker count it prints prompts per second, the ratio to one worker, and the
dispatch overhead per prompt (a prompt's wall time on the coordinator minus its sleep: routing, the
Ray round trips, the streamed events). With two checkpoint names alternating over the prompts (the
names only steer routing; the prompts load nothing), it reports how often a prompt landed on a
worker that had already run that checkpoint. The last line is JSON: throughput_ratio_8 (target
>= 7.2), dispatch_ms_p99, affinity_hit_rate (0..1), and the per-count figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class ListSource:
    """A FIFO queue of prompts with routing's choice; counts affinity hits."""

    def __init__(self, candidates, choose_prompt, models_of) -> None:
        self.queue = list(candidates)
        self.choose_prompt, self.models_of = choose_prompt, models_of
        self.finished: list[float] = []
        self.hits = self.routed = 0
        self.all_done = threading.Event()
        self.total = len(self.queue)

    def take(self, worker, workers):
        picked = self.choose_prompt(worker, self.queue, workers)
        if picked is not None:
            self.queue.remove(picked)
            if worker.resident:
                self.routed += 1
                self.hits += self.models_of(picked.prompt) <= worker.resident
        return picked

    def done(self, candidate, worker, outcome, seconds) -> None:
        self.finished.append(seconds)
        if len(self.finished) == self.total:
            self.all_done.set()

    def lost(self, candidate, worker) -> None:
        self.queue.insert(0, candidate)


def prompt(i: int, seconds: float) -> dict:
    # A distinct sleep per prompt (by a microsecond) keeps the workers' caches from answering it.
    return {"1": {"class_type": "CountTo", "inputs": {"steps": 5, "seconds_per_step": seconds / 5 + i * 1e-6}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
            # Not executed (nothing consumes it): it names the checkpoint routing steers by.
            "9": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "ab"[i % 2] + ".safetensors"}}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--prompts-per-worker", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=0.25)
    args = parser.parse_args(argv)

    import ray

    from app.cluster.actor import remote_worker_class
    from app.cluster.dispatch import Dispatcher
    from app.cluster.routing import Candidate, choose_prompt, models_of
    from app.cluster.runner import RayPromptRunner

    counts = [int(n) for n in args.workers.split(",")]
    ray.init(num_cpus=max(counts), include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}})
    figures, overheads, hits, routed = {}, [], 0, 0
    try:
        Worker = remote_worker_class(num_cpus=1)
        with tempfile.TemporaryDirectory(prefix="latentgraph-scale-") as tmp:
            argv_engine = ["--base-directory", tmp, "--cpu", "--disable-all-custom-nodes"]
            for count in counts:
                actors = [Worker.remote(f"w{i}", argv_engine) for i in range(count)]
                ray.get([a.describe.remote() for a in actors])  # started and ready
                runners = [RayPromptRunner(a, f"w{i}") for i, a in enumerate(actors)]
                # Warm each worker once (first-run imports), then time a fresh batch.
                for runner in runners:
                    runner.execute(prompt(10**6, 0.0), prompt_id="warm", outputs=["2"])
                total = count * args.prompts_per_worker
                candidates = [Candidate(f"p{count}-{i}", prompt(i, args.seconds)) for i in range(total)]
                source = ListSource(candidates, choose_prompt, models_of)
                dispatcher = Dispatcher(runners, source, outputs_of=lambda c: ["2"])
                began = time.perf_counter()
                dispatcher.start()
                source.all_done.wait()
                elapsed = time.perf_counter() - began
                dispatcher.stop()
                rate = total / elapsed
                overhead = [max(0.0, s - args.seconds) * 1000 for s in source.finished]
                overheads += overhead
                hits, routed = hits + source.hits, routed + source.routed
                figures[count] = {"prompts_per_s": round(rate, 2), "dispatch_ms_median": round(statistics.median(overhead), 1)}
                print(f"{count} worker(s): {rate:.2f} prompts/s, dispatch overhead median "
                      f"{statistics.median(overhead):.1f} ms", flush=True)
                for actor in actors:
                    ray.kill(actor)
    finally:
        ray.shutdown()
    base = figures[counts[0]]["prompts_per_s"] / counts[0]
    for row in figures.values():
        row["ratio_to_one"] = round(row["prompts_per_s"] / base, 2)
    p99 = sorted(overheads)[max(0, int(len(overheads) * 0.99) - 1)]
    summary = {"throughput_ratio_8": figures.get(8, {}).get("ratio_to_one"), "dispatch_ms_p99": round(p99, 1),
               "affinity_hit_rate": round(hits / routed, 3) if routed else None,
               "seconds_per_prompt": args.seconds, "workers": figures}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
