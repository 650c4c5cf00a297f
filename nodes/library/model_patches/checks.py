"""Input checks shared by the model patch nodes (torch-free)."""

from __future__ import annotations

import math
from typing import Any


def number(node: str, name: str, value: Any, low: float, high: float) -> float:
    """`value` as a float when it is a finite number in [low, high], else a clear error naming node and input."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{node}: input '{name}' must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{node}: input '{name}' must be between {low} and {high}, got {value!r}")
    return float(value)
