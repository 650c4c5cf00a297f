"""ComfyUI's console-log routes: /internal/logs, /internal/logs/raw, PATCH /internal/logs/subscribe and
the WS `logs` events; the console capture of `main.py serve` (server/console_log.py)."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
from datetime import datetime

import pytest
from server_harness import collect_ws

from server import log_relay
from server.console_log import MAX_ENTRY_CHARS, ConsoleLog, ConsoleTee, capture_console


# ---------------------------------------------------------------------------------------- the log itself
def test_each_write_is_an_entry_with_an_iso_time_and_only_the_newest_are_kept():
    log = ConsoleLog(max_entries=3)
    for text in ("a\n", "", "b\n", "c\n", "d\n"):
        log.write(text)
    entries = log.entries()
    assert [e["m"] for e in entries] == ["b\n", "c\n", "d\n"]
    assert all(datetime.fromisoformat(e["t"]).tzinfo is not None for e in entries)
    assert log.text() == "b\nc\nd\n"


def test_a_huge_write_is_cut_and_says_how_much_was_left_out():
    log = ConsoleLog()
    log.write("x" * (MAX_ENTRY_CHARS + 10))
    (entry,) = log.entries()
    assert entry["m"].startswith("x" * MAX_ENTRY_CHARS) and "10 more characters" in entry["m"]


def test_a_failing_or_printing_listener_never_breaks_the_write():
    log = ConsoleLog()
    seen = []

    def broken(entries):
        raise RuntimeError("listener bug")

    def printing(entries):
        seen.extend(entries)
        log.write("written by a listener\n")  # recorded, but not announced again (no loop)

    log.add_listener(broken)
    log.add_listener(printing)
    log.write("hello\n")
    assert [e["m"] for e in seen] == ["hello\n"]
    assert log.text() == "hello\nwritten by a listener\n"
    log.remove_listener(printing)
    log.remove_listener(printing)  # twice is harmless
    log.write("again\n")
    assert len(seen) == 1


def test_writes_from_many_threads_are_all_kept():
    log = ConsoleLog(max_entries=10_000)

    def work(n):
        for i in range(200):
            log.write(f"{n}:{i}\n")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(log.entries()) == 1600


def test_the_tee_writes_through_unchanged_and_keeps_a_copy():
    terminal = io.StringIO()
    log = ConsoleLog()
    tee = ConsoleTee(terminal, log)
    assert tee.write("progress 50%\r") == len("progress 50%\r")
    tee.flush()
    assert terminal.getvalue() == "progress 50%\r" and log.text() == "progress 50%\r"
    assert tee.getvalue() == terminal.getvalue()  # other attributes are the real stream's


def test_capture_console_covers_print_and_logging_and_can_be_undone():
    log = ConsoleLog()
    before = sys.stdout, sys.stderr
    restore = capture_console(log)
    try:
        print("from print")
        handler = logging.StreamHandler()  # binds to the current sys.stderr, as basicConfig does
        logging.getLogger("latentgraph.test.logs").addHandler(handler)
        logging.getLogger("latentgraph.test.logs").warning("from logging")
        logging.getLogger("latentgraph.test.logs").removeHandler(handler)
    finally:
        restore()
    assert (sys.stdout, sys.stderr) == before
    assert "from print\n" in log.text() and "from logging\n" in log.text()


# ---------------------------------------------------------------------------------------- the routes
def test_logs_and_raw_logs_serve_what_was_written(live):
    live.state.logs.console.write("line one\n")
    live.state.logs.console.write("line two\n")
    assert live.json("GET", "/internal/logs") == (200, "line one\nline two\n")
    status, raw = live.json("GET", "/internal/logs/raw")
    assert status == 200
    assert [e["m"] for e in raw["entries"]] == ["line one\n", "line two\n"]
    assert isinstance(raw["size"]["cols"], int) and isinstance(raw["size"]["rows"], int)


def test_log_routes_are_not_mirrored_under_api(live):
    assert live.request("GET", "/api/internal/logs")[0] == 404


@pytest.mark.parametrize("body, error", [
    ([], "invalid_body"),
    ({"enabled": True}, "invalid_client_id"),
    ({"clientId": "", "enabled": True}, "invalid_client_id"),
    ({"clientId": 7, "enabled": True}, "invalid_client_id"),
    ({"clientId": "x" * 257, "enabled": True}, "invalid_client_id"),
    ({"clientId": "abc"}, "invalid_enabled"),
    ({"clientId": "abc", "enabled": "yes"}, "invalid_enabled"),
])
def test_bad_subscribe_bodies_are_400_and_change_nothing(live, body, error):
    status, answer = live.json("PATCH", "/internal/logs/subscribe", body)
    assert status == 400 and answer["error"]["type"] == error, answer
    assert live.state.logs.subscribers == set()


def test_subscribe_refuses_invalid_json_and_cross_site_form_posts(live):
    status, _, payload = live.request("PATCH", "/internal/logs/subscribe", raw=b"{not json",
                                      headers={"Content-Type": "application/json"})
    assert status == 400 and b"invalid_json" in payload
    status, _, _ = live.request("PATCH", "/internal/logs/subscribe", raw=b"clientId=a&enabled=true",
                                headers={"Content-Type": "application/x-www-form-urlencoded",
                                         "Sec-Fetch-Site": "cross-site"})
    assert status == 415
    assert live.state.logs.subscribers == set()


def test_subscribers_are_bounded_and_departed_clients_make_room(live, monkeypatch):
    monkeypatch.setattr(log_relay, "MAX_SUBSCRIBERS", 2)
    assert live.json("PATCH", "/internal/logs/subscribe", {"clientId": "a", "enabled": True})[0] == 200
    assert live.json("PATCH", "/internal/logs/subscribe", {"clientId": "b", "enabled": True})[0] == 200
    # neither "a" nor "b" is connected: they are forgotten to make room for "c"
    assert live.json("PATCH", "/internal/logs/subscribe", {"clientId": "c", "enabled": True})[0] == 200
    assert live.state.logs.subscribers == {"c"}
    live.state.hub.clients.update({"c": object(), "d": object()})  # two connected subscribers
    try:
        assert live.json("PATCH", "/internal/logs/subscribe", {"clientId": "d", "enabled": True})[0] == 200
        status, answer = live.json("PATCH", "/internal/logs/subscribe", {"clientId": "e", "enabled": True})
        assert status == 429 and answer["error"]["type"] == "too_many_subscribers"
    finally:
        live.state.hub.clients.pop("c")
        live.state.hub.clients.pop("d")


# ---------------------------------------------------------------------------------------- WS events
def test_only_subscribed_clients_get_logs_events_and_bursts_are_batched(live):
    async def scenario():
        async def subscribe_then_print():
            def call():
                assert live.json("PATCH", "/internal/logs/subscribe", {"clientId": "watcher", "enabled": True})[0] == 200
                for i in range(500):  # a burst from a worker thread (a progress bar)
                    live.state.logs.console.write(f"step {i}\n")
            await asyncio.get_running_loop().run_in_executor(None, call)

        def got_all(messages):
            lines = [e["m"] for m in messages if isinstance(m, dict) and m["type"] == "logs"
                     for e in m["data"]["entries"]]
            return len(lines) >= 500

        watcher = asyncio.ensure_future(collect_ws(live.url, "watcher", got_all, on_open=subscribe_then_print))
        got_logs = lambda messages: any(isinstance(m, dict) and m["type"] == "logs" for m in messages)  # noqa: E731
        other = asyncio.ensure_future(collect_ws(live.url, "bystander", got_logs, timeout=1.5))
        watched = await watcher
        with pytest.raises(asyncio.TimeoutError):
            await other
        return watched

    messages = asyncio.run(scenario())
    logs = [m for m in messages if isinstance(m, dict) and m["type"] == "logs"]
    lines = [e["m"] for m in logs for e in m["data"]["entries"]]
    assert lines == [f"step {i}\n" for i in range(500)]
    assert len(logs) < 50, f"{len(logs)} messages for one burst"
    assert {"cols", "rows"} <= set(logs[0]["data"]["size"])


def test_unsubscribed_clients_stop_getting_logs(live):
    live.state.logs.subscribers.add("gone")
    assert live.json("PATCH", "/internal/logs/subscribe", {"clientId": "gone", "enabled": False})[0] == 200
    assert live.json("PATCH", "/internal/logs/subscribe", {"clientId": "never", "enabled": False})[0] == 200
    assert live.state.logs.subscribers == set()
