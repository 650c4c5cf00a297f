"""Prompts on real Ray actors (a local CPU cluster started once): events in order, results, interrupt, a killed
worker reported as lost, two workers running at once. Everything in one test: one cluster per test session."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

ray = pytest.importorskip("ray")

from app.cluster.actor import remote_worker_class  # noqa: E402
from app.cluster.runner import RayPromptRunner, WorkerLostError  # noqa: E402
from graph.context import InterruptToken  # noqa: E402
from graph.events import ListSink  # noqa: E402


def _count(steps: int, seconds: float = 0.0) -> dict:
    return {"1": {"class_type": "CountTo", "inputs": {"steps": steps, "seconds_per_step": seconds}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


def test_prompts_on_ray_workers(tmp_path, ray_cluster):
    Worker = remote_worker_class(num_cpus=1)
    argv = ["--base-directory", str(tmp_path), "--cpu", "--disable-all-custom-nodes"]
    actors = [Worker.remote(f"w{i}", argv) for i in range(2)]
    try:
        runners = [RayPromptRunner(actor, f"w{i}") for i, actor in enumerate(actors)]

        # Events arrive in the executor's order, then the result with the ui outputs.
        sink = ListSink()
        outcome = runners[0].execute(_count(5), prompt_id="p1", outputs=["2"], sink=sink)
        assert outcome.status == "success" and outcome.outputs["2"]["text"] == ["5"]
        names = sink.names()
        assert names[0] == "execution_start" and names[-1] == "execution_success"
        assert [d["value"] for d in sink.of("progress")] == [1, 2, 3, 4, 5]
        # The actor keeps its node cache: the same prompt again comes from it.
        again = ListSink()
        runners[0].execute(_count(5), prompt_id="p2", outputs=["2"], sink=again)
        assert set(again.of("execution_cached")[0]["nodes"]) == {"1", "2"}
        assert runners[0].preview_plan(_count(5), ["2"]) == {"run": [], "cached": ["1", "2"]}

        # The worker is free as soon as the result arrives: the next prompt goes straight in.
        assert runners[0].execute(_count(2, 0.01), prompt_id="p2b", outputs=["2"]).status == "success"

        # Two workers run at the same time: each one's progress starts before the other's ends (run one after
        # the other, the 10 steps of 0.1 s could not interleave). An order of events, not a time limit.
        results, progress_at = {}, {0: [], 1: []}

        def run(i, runner):
            def sink(event, data):
                if event == "progress":
                    progress_at[i].append(time.monotonic())

            results[i] = runner.execute(_count(10, 0.1), prompt_id=f"par{i}", outputs=["2"], sink=sink)

        threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(runners)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(results[i].status == "success" for i in (0, 1))
        assert len(progress_at[0]) == len(progress_at[1]) == 10
        assert progress_at[0][0] < progress_at[1][-1] and progress_at[1][0] < progress_at[0][-1]

        # An interrupt on the coordinator stops the remote prompt.
        token = InterruptToken()
        threading.Timer(0.3, token.set).start()
        stopped = runners[1].execute(_count(200, 0.05), prompt_id="p3", outputs=["2"], interrupt=token)
        assert stopped.status == "interrupted"

        # A worker killed mid-prompt is reported as lost; the other keeps serving.
        pid = ray.get(actors[1].describe.remote())["pid"]
        threading.Timer(0.5, os.kill, args=(pid, signal.SIGKILL)).start()
        with pytest.raises(WorkerLostError, match="w1 died while running prompt p4"):
            runners[1].execute(_count(200, 0.05), prompt_id="p4", outputs=["2"])
        assert runners[0].execute(_count(3), prompt_id="p5", outputs=["2"]).status == "success"
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)
