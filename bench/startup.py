"""Start-up time of the light commands, each run as a user runs it: `python main.py ...` in a
fresh process from the repo root (target: each at most 1 s, none importing torch).

Run: .venv/bin/python bench/startup.py [--runs N]
Each command runs N times (default 5) for the wall-clock figures, then once more under
`python -X importtime` to read which modules it imported. Prints a table of median / min
wall seconds, the exit status and whether torch / transformers were imported, then as the
last line a JSON object {command: {median_s, min_s, exit, torch, transformers}}. It reports;
it asserts nothing about time, and exits 0.

validate, convert and nodes get a scratch --base-directory whose models/checkpoints/ holds an
empty sd15.safetensors, so the example workflow (workflows/txt2img_sd15_api.json) validates
and each command goes down its successful path.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = "workflows/txt2img_sd15_api.json"
WATCHED = ("torch", "transformers")
_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$")


def commands(base: Path) -> dict[str, list[str]]:
    """Command label -> main.py arguments."""
    folders = ["--base-directory", str(base)]
    return {
        "--help": ["--help"],
        "tokenize": ["tokenize", "a photo of a (cat:1.2), embedding:style, highly detailed"],
        "nodes": ["nodes", *folders],
        "validate": ["validate", WORKFLOW, *folders],
        "convert": ["convert", WORKFLOW, "--to", "ui", *folders],
    }


def timed_run(args: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, timeout=120)
    return time.perf_counter() - start, done.returncode


def imported_modules(args: list[str]) -> set[str]:
    """Every module the command imported, read from `python -X importtime`."""
    done = subprocess.run([sys.executable, "-X", "importtime", "main.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    return {m.group(1) for line in done.stderr.splitlines() if (m := _IMPORT_LINE.match(line))}


def measure(args: list[str], runs: int) -> dict:
    results = [timed_run(args) for _ in range(runs)]
    walls = [wall for wall, _ in results]
    modules = imported_modules(args)
    return {
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "exit": sorted({code for _, code in results}),
        **{name: name in modules for name in WATCHED},
    }


def format_table(rows: dict[str, dict]) -> str:
    lines = [f"{'command':<10} {'median s':>9} {'min s':>7} {'exit':>5}  " + "  ".join(WATCHED)]
    for label, row in rows.items():
        exits = ",".join(str(code) for code in row["exit"])
        flags = "  ".join(f"{'yes' if row[name] else 'no':<{len(name)}}" for name in WATCHED)
        lines.append(f"{label:<10} {row['median_s']:>9.3f} {row['min_s']:>7.3f} {exits:>5}  {flags}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="latentgraph-startup-") as scratch:
        base = Path(scratch)
        (base / "models" / "checkpoints").mkdir(parents=True)
        (base / "models" / "checkpoints" / "sd15.safetensors").touch()
        rows = {label: measure(args, max(1, options.runs)) for label, args in commands(base).items()}
    print(f"python main.py ..., {max(1, options.runs)} fresh processes each, wall seconds")
    print(format_table(rows))
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
