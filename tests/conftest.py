"""Shared test configuration. Each area keeps its fixtures in its own tests/<area>/conftest.py."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _share_the_cores_between_workers() -> None:
    """Under pytest-xdist, give each worker's PyTorch (and every server or CLI process a test starts, which
    inherits the variable) its share of the cores instead of all of them: `-n 2` on 2 cores otherwise runs 4
    OpenMP threads on 2 cores, whose spin-waits made the tiny-model sampling tests 3-6x slower (measured on
    tests/nodes/library/sampling: 99 s -> 35 s). An OMP_NUM_THREADS the user set is kept."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if workers <= 1 or "OMP_NUM_THREADS" in os.environ:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, cores // workers)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:  # imported before this file (a plugin): tell it too
        sys.modules["torch"].set_num_threads(threads)


_share_the_cores_between_workers()
