"""Training-budget bookkeeping shared by the demo's training phases: a phase runs for a number of
steps or for a wall-clock budget, whichever ends first, and the learning rate follows the progress."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass
class Budget:
    """Progress of a phase limited by `max_steps` (None = no limit) and `seconds` (None = no limit)."""

    seconds: float | None
    max_steps: int | None
    min_steps: int = 1
    started: float = field(default_factory=time.monotonic)
    step: int = 0

    def __post_init__(self) -> None:
        if self.seconds is None and self.max_steps is None:
            raise ValueError("a training phase needs a step count or a time budget")
        if self.seconds is not None and self.seconds < 0:
            raise ValueError(f"time budget must be >= 0 seconds, got {self.seconds}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"step count must be >= 1, got {self.max_steps}")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def progress(self) -> float:
        """Fraction done in 0..1 (the larger of the step and the time fraction)."""
        fractions = []
        if self.max_steps is not None:
            fractions.append(self.step / self.max_steps)
        if self.seconds is not None:
            fractions.append(self.elapsed() / self.seconds if self.seconds > 0 else 1.0)
        return min(1.0, max(fractions))

    def done(self) -> bool:
        if self.step < self.min_steps:
            return False
        return self.progress() >= 1.0


def learning_rate(peak: float, progress: float, step: int, warmup_steps: int, final_fraction: float = 0.05) -> float:
    """Linear warm-up over `warmup_steps`, then cosine decay by progress down to `final_fraction` of the peak."""
    warm = min(1.0, (step + 1) / max(1, warmup_steps))
    cosine = final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return peak * warm * cosine
