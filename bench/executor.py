"""Benchmark of the graph engine with stub nodes (no torch, no models).

Run: .venv/bin/python bench/executor.py
Prints its figures, then as the last line a JSON object:
  plan_1000_ms                 validate + plan a 1,000-node graph (target <= 50 ms)
  plan_signatures_1000_ms      the same plus every node's signature (what execute adds)
  cached_rerun_ms              execute an unchanged 100-node graph, all cached (target <= 5 ms)
  chain_change_nodes_run       nodes run after changing the literal at the top of a 100-node chain
  chain_change_nodes_expected  nodes downstream of that change (counted independently)
  wide_change_nodes_run / wide_change_nodes_expected   the same for one branch of a wide graph
plus the naive reference (`naive_rerun_ms`: the same 100 nodes run with an empty cache).
Timings are medians of wall-clock time; each also has a `*_cpu_ms` twin (this process's
CPU time), which stays meaningful when other jobs share the machine.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graph.events import ListSink  # noqa: E402
from graph.executor import Executor  # noqa: E402
from graph.plan import build_plan  # noqa: E402
from graph.schema import InputSpec, NodeOutput, NodeSchema, OutputSpec  # noqa: E402
from graph.signature import compute_signatures  # noqa: E402
from graph.validate import validate_prompt  # noqa: E402


class BenchNode:
    """A stub NodeType computing with ints."""

    def __init__(self, schema: NodeSchema, func):
        self._schema = schema
        self._func = func

    def schema(self):
        return self._schema

    def fingerprint(self, inputs):
        return None

    def validate(self, inputs, input_types):
        return []

    def check_lazy_status(self, context, inputs):
        return []

    def execute(self, context, inputs):
        return self._func(**inputs)


class BenchRegistry:
    def __init__(self):
        int_in = {"min": -(2**31), "max": 2**31}
        self.types = {
            "Int": BenchNode(
                NodeSchema("Int", (InputSpec("value", "INT", options=int_in),), (OutputSpec("INT", "INT"),)),
                lambda value: NodeOutput((value,)),
            ),
            "Add": BenchNode(
                NodeSchema(
                    "Add",
                    (InputSpec("a", "INT", options=int_in), InputSpec("b", "INT", options=int_in),
                     InputSpec("mode", "COMBO", choices=("sum", "max"))),
                    (OutputSpec("INT", "INT"),),
                ),
                lambda a, b, mode: NodeOutput((a + b if mode == "sum" else max(a, b),)),
            ),
            "Join": BenchNode(
                NodeSchema("Join", tuple(InputSpec(f"v{i}", "INT", required=False) for i in range(32)), (OutputSpec("INT", "INT"),)),
                lambda **values: NodeOutput((sum(values.values()),)),
            ),
            "Save": BenchNode(
                NodeSchema("Save", (InputSpec("value", "*"),), (), output_node=True),
                lambda value: NodeOutput((), {"values": [value]}),
            ),
        }

    def get(self, class_type):
        return self.types.get(class_type)

    def class_types(self):
        return list(self.types)


def add(a, b, mode="sum"):
    return {"class_type": "Add", "inputs": {"a": a, "b": b, "mode": mode}}


def chain(length: int) -> dict:
    """Int -> Add x (length - 2) -> Save."""
    prompt = {"1": {"class_type": "Int", "inputs": {"value": 1}}}
    for i in range(2, length):
        prompt[str(i)] = add([str(i - 1), 0], 1)
    prompt[str(length)] = {"class_type": "Save", "inputs": {"value": [str(length - 1), 0]}}
    return prompt


def layered(total: int, width: int = 20) -> dict:
    """A DAG of about `total` nodes: layers of Add nodes each reading two nodes of the layer above."""
    prompt = {f"s{i}": {"class_type": "Int", "inputs": {"value": i}} for i in range(width)}
    above = list(prompt)
    layer = 0
    while len(prompt) < total - width:
        layer += 1
        current = []
        for i in range(width):
            node_id = f"n{layer}_{i}"
            prompt[node_id] = add([above[i], 0], [above[(i + 1) % width], 0], "max" if i % 2 else "sum")
            current.append(node_id)
        above = current
    for i in range(total - len(prompt)):
        prompt[f"out{i}"] = {"class_type": "Save", "inputs": {"value": [above[i % width], 0]}}
    return prompt


def wide(branches: int = 10, depth: int = 9) -> dict:
    """`branches` independent chains joined at the end: Int -> Add x depth-1 -> Join -> Save."""
    prompt: dict = {}
    join: dict = {}
    for b in range(branches):
        prompt[f"b{b}_0"] = {"class_type": "Int", "inputs": {"value": b}}
        for d in range(1, depth):
            prompt[f"b{b}_{d}"] = add([f"b{b}_{d - 1}", 0], 1)
        join[f"v{b}"] = [f"b{b}_{depth - 1}", 0]
    prompt["join"] = {"class_type": "Join", "inputs": join}
    prompt["save"] = {"class_type": "Save", "inputs": {"value": ["join", 0]}}
    return prompt


def downstream_count(prompt: dict, start: str) -> int:
    """Nodes depending on `start` (itself included), found by a plain reverse walk."""
    dependents: dict[str, list[str]] = {}
    for node_id, node in prompt.items():
        for value in node["inputs"].values():
            if isinstance(value, list):
                dependents.setdefault(value[0], []).append(node_id)
    seen, stack = {start}, [start]
    while stack:
        for nxt in dependents.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return len(seen)


def timed_ms(func, repeat: int) -> tuple[float, float]:
    """(median wall-clock ms, median CPU ms of this process) over `repeat` calls after a warm-up.

    On a shared machine the CPU figure shows the engine's own cost; the wall figure
    also counts time spent waiting for a core.
    """
    func()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def add_timing(figures: dict, key: str, func, repeat: int) -> None:
    wall, cpu = timed_ms(func, repeat)
    figures[f"{key}_ms"] = round(wall, 3)
    figures[f"{key}_cpu_ms"] = round(cpu, 3)


def run(executor: Executor, prompt: dict):
    checked = validate_prompt(prompt, executor.registry)
    assert checked.ok, checked.to_json()
    return executor.execute(checked.prompt, prompt_id="bench", outputs=checked.outputs, sink=ListSink())


def bench_plan(registry: BenchRegistry) -> dict:
    prompt = layered(1000)
    assert len(prompt) == 1000

    def validate_and_plan():
        checked = validate_prompt(prompt, registry)
        assert checked.ok
        build_plan(checked.prompt, checked.outputs, lambda ct: registry.get(ct).schema())

    def with_signatures():
        checked = validate_prompt(prompt, registry)
        plan = build_plan(checked.prompt, checked.outputs, lambda ct: registry.get(ct).schema())
        compute_signatures(checked.prompt, plan.order, plan.links, lambda ct: (registry.get(ct), registry.get(ct).schema()))

    figures: dict = {}
    add_timing(figures, "plan_1000", validate_and_plan, 25)
    add_timing(figures, "plan_signatures_1000", with_signatures, 25)
    big = chain(100_000)
    start = time.perf_counter()
    assert validate_prompt(big, registry).ok
    figures["validate_100000_chain_ms"] = round((time.perf_counter() - start) * 1000, 1)
    return figures


def bench_cached_rerun(registry: BenchRegistry) -> dict:
    prompt = layered(100, width=10)
    checked = validate_prompt(prompt, registry)
    executor = Executor(registry)
    executor.execute(checked.prompt, prompt_id="warm", outputs=checked.outputs)

    def rerun():
        result = executor.execute(checked.prompt, prompt_id="again", outputs=checked.outputs, sink=ListSink())
        assert result.executed == [] and len(result.cached) == 100

    def naive():
        executor.reset()
        executor.execute(checked.prompt, prompt_id="naive", outputs=checked.outputs, sink=ListSink())

    figures: dict = {}
    add_timing(figures, "cached_rerun", rerun, 50)
    add_timing(figures, "naive_rerun", naive, 20)
    return figures


def bench_changes(registry: BenchRegistry) -> dict:
    figures = {}
    for name, prompt, target in (
        ("chain", chain(100), "1"),
        ("chain_middle", chain(100), "50"),
        ("wide", wide(), "b3_0"),
    ):
        executor = Executor(registry)
        run(executor, prompt)
        node = prompt[target]["inputs"]
        if "value" in node:
            node["value"] += 1000
        else:
            node["b"] += 1000
        result = run(executor, prompt)
        assert result.status == "success"
        figures[f"{name}_change_nodes_run"] = len(result.executed)
        figures[f"{name}_change_nodes_expected"] = downstream_count(prompt, target)
        figures[f"{name}_nodes_total"] = len(prompt)
    return figures


def main() -> None:
    registry = BenchRegistry()
    figures: dict = {}
    figures.update(bench_plan(registry))
    figures.update(bench_cached_rerun(registry))
    figures.update(bench_changes(registry))
    def line(label: str, key: str, target: str = "") -> None:
        print(f"{label:<36}{figures[key + '_ms']:9.3f} ms wall {figures[key + '_cpu_ms']:9.3f} ms cpu {target}")

    line("validate + plan, 1,000 nodes:", "plan_1000", "(target <= 50)")
    line("... plus signatures, 1,000 nodes:", "plan_signatures_1000")
    print(f"validate, 100,000-node chain:      {figures['validate_100000_chain_ms']:8.1f} ms")
    line("re-run 100 nodes, all cached:", "cached_rerun", "(target <= 5)")
    line("naive re-run, 100 nodes, no cache:", "naive_rerun")
    for name in ("chain", "chain_middle", "wide"):
        print(
            f"{name:<13} change: ran {figures[f'{name}_change_nodes_run']:>3} of {figures[f'{name}_nodes_total']:>3} nodes, "
            f"expected {figures[f'{name}_change_nodes_expected']}"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
