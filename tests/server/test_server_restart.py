"""F1 (kill -9 mid-prompt) and F2 (SIGTERM) with the server in a subprocess."""

from __future__ import annotations

from server_harness import simple_prompt, slow_prompt
from server_process import ServerProcess


def queue(server, prompt, **fields):
    status, body = server.json("POST", "/prompt", {"prompt": prompt, **fields})
    assert status == 200, body
    return body["prompt_id"]


def history(server, pid):
    return server.json("GET", f"/history/{pid}")[1].get(pid)


def test_f1_kill9_requeues_once_then_fails_by_restart_and_loses_nothing(tmp_path):
    server = ServerProcess(tmp_path)
    done = queue(server, simple_prompt(1, output="SaveImage"))
    server.wait_until(lambda: history(server, done))
    slow = queue(server, slow_prompt(steps=500, delay_ms=20))
    pending = [queue(server, simple_prompt(i)) for i in (2, 3)]
    server.wait_until(lambda: server.running_ids() == [slow])
    server.kill9()

    server = ServerProcess(tmp_path)  # the slow prompt is re-queued once and starts again
    server.wait_until(lambda: server.running_ids() == [slow])
    assert [item[1] for item in server.json("GET", "/queue")[1]["queue_pending"]] == pending
    server.kill9()

    server = ServerProcess(tmp_path)  # second death: explicit failure, the rest runs
    for pid in pending:
        assert server.wait_until(lambda pid=pid: history(server, pid))["status"]["status_str"] == "success"
    failed = history(server, slow)
    assert failed["status"] == {"status_str": "error", "completed": False, "messages": failed["status"]["messages"]}
    assert failed["status"]["messages"][0][1]["exception_type"] == "FailedByRestart"
    kept = history(server, done)
    image = kept["outputs"]["2"]["images"][0]
    assert server.json("GET", "/queue")[1] == {"queue_running": [], "queue_pending": []}
    assert (tmp_path / "output" / image["filename"]).is_file()
    assert server.terminate() == 0


def test_f2_sigterm_is_graceful_and_the_interrupted_prompt_runs_after_restart(tmp_path):
    server = ServerProcess(tmp_path)
    slow = queue(server, slow_prompt(steps=60, delay_ms=20))
    later = queue(server, simple_prompt(5))
    server.wait_until(lambda: server.running_ids() == [slow])
    assert server.terminate() == 0

    server = ServerProcess(tmp_path)
    for pid in (slow, later):
        assert server.wait_until(lambda pid=pid: history(server, pid))["status"]["status_str"] == "success"
    assert server.terminate() == 0
