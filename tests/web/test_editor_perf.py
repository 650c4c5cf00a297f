"""Measurements, printed and never asserted on time: how long the editor takes from navigation to the
default graph's nodes on the canvas, and, with a generated 300-node workflow (Int and Int Math nodes in a
linked grid), its load time and the frame times while the canvas is panned with the mouse for ~2 s.
Run with `-s` to see the numbers."""

from __future__ import annotations

import json
import statistics

from .conftest import ARTIFACTS
from .editor_actions import open_workflow_file

COLUMNS = 20
COUNT = 300

# Before any page script runs: note when the canvas first shows at least N nodes (performance.now(),
# i.e. milliseconds since navigation started).
CANVAS_READY = """
window.__lgReadyAt = null;
const poll = () => {
  if (document.querySelectorAll('.react-flow__node').length >= 7) window.__lgReadyAt = performance.now();
  else requestAnimationFrame(poll);
};
requestAnimationFrame(poll);
"""

FRAME_SAMPLER = """
() => {
  window.__lgFrames = [];
  window.__lgSampling = true;
  let last = performance.now();
  const tick = (t) => {
    window.__lgFrames.push(t - last);
    last = t;
    if (window.__lgSampling) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""

# A point of empty canvas to start the pan from (between the nodes).
EMPTY_POINT = """
() => {
  const pane = document.querySelector('.react-flow').getBoundingClientRect();
  for (let y = pane.top + 40; y < pane.bottom - 40; y += 7)
    for (let x = pane.left + 40; x < pane.right - 240; x += 7) {
      const hit = document.elementFromPoint(x, y);
      if (hit && hit.classList.contains('react-flow__pane')) return [x, y];
    }
  return null;
}
"""


def grid_workflow() -> dict:
    """COUNT nodes: Int, Int Math, Int, Int Math, ... each Int Math adding the Int before it (a) and the
    previous Int Math (b); laid out in rows of COLUMNS."""
    nodes, links = [], []

    def link(origin: int, target: int, slot: int) -> int:
        links.append([len(links) + 1, origin, 0, target, slot, "INT"])
        return len(links)

    outputs: dict[int, list[int]] = {}
    for i in range(COUNT):
        node_id = i + 1
        pos = [(i % COLUMNS) * 330, (i // COLUMNS) * 260]
        if i % 2 == 0:
            nodes.append(
                {
                    "id": node_id,
                    "type": "PrimitiveInt",
                    "pos": pos,
                    "mode": 0,
                    "inputs": [],
                    "outputs": [{"name": "INT", "type": "INT", "links": []}],
                    "widgets_values": [i, "fixed"],
                }
            )
            continue
        inputs = [{"name": "a", "type": "INT", "link": link(node_id - 1, node_id, 0), "widget": {"name": "a"}}]
        outputs.setdefault(node_id - 1, []).append(len(links))
        if i >= 3:
            inputs.append({"name": "b", "type": "INT", "link": link(node_id - 2, node_id, 1), "widget": {"name": "b"}})
            outputs.setdefault(node_id - 2, []).append(len(links))
        nodes.append(
            {
                "id": node_id,
                "type": "IntMath",
                "pos": pos,
                "mode": 0,
                "inputs": inputs,
                "outputs": [{"name": "INT", "type": "INT", "links": []}],
                "widgets_values": [0, 0, "add"],
            }
        )
    for n in nodes:
        n["outputs"][0]["links"] = outputs.get(n["id"], [])
    return {"last_node_id": COUNT, "last_link_id": len(links), "version": 0.4, "nodes": nodes, "links": links}


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def test_editor_load_time_and_panning_300_nodes(page, tmp_path):
    # 1. Navigation → the default graph's nodes on the canvas, timed inside the page.
    page.add_init_script(CANVAS_READY)
    page.reload()
    page.wait_for_function("window.__lgReadyAt !== null", timeout=20000)
    ready_ms = page.evaluate("window.__lgReadyAt")
    print(f"\n[perf] editor ready (navigation → default graph's nodes shown): {ready_ms:.0f} ms")

    # 2. A generated 300-node workflow: load time until all its nodes are on the canvas.
    workflow = grid_workflow()
    path = tmp_path / "grid300.json"
    path.write_text(json.dumps(workflow))
    page.evaluate("window.__lgOpenAt = performance.now()")
    open_workflow_file(page, path)
    page.wait_for_function(f"document.querySelectorAll('.react-flow__node').length >= {COUNT}", timeout=30000)
    load_ms = page.evaluate("performance.now() - window.__lgOpenAt")
    page.wait_for_timeout(300)  # the fit-to-screen after opening
    rendered = page.locator(".react-flow__node").count()
    edges = page.locator(".react-flow__edge").count()
    print(f"[perf] 300-node workflow loaded: {load_ms:.0f} ms ({rendered} nodes, {edges} links on the canvas)")
    assert rendered == COUNT
    assert edges == len(workflow["links"])

    # 3. Pan with the mouse for ~2 s while the page samples frame times.
    start = page.evaluate(EMPTY_POINT)
    assert start, "no empty canvas to start panning from"
    x, y = start
    page.evaluate(FRAME_SAMPLER)
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(60):
        dx = 200 * (1 if (step // 15) % 2 == 0 else -1)
        x += dx / 15
        y += dx / 30
        page.mouse.move(x, y)
        page.wait_for_timeout(30)
    page.mouse.up()
    frames = page.evaluate("window.__lgSampling = false, window.__lgFrames.slice(1)")
    assert len(frames) > 10, f"too few frames sampled: {frames}"
    print(
        f"[perf] panning 300 nodes: {len(frames)} frames, median {statistics.median(frames):.1f} ms, "
        f"p95 {_percentile(frames, 0.95):.1f} ms, max {max(frames):.1f} ms"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-perf-300-nodes.png"))
