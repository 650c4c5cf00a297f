"""Shared test configuration. Each area keeps its fixtures in its own tests/<area>/conftest.py."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
