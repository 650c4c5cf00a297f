"""Schedules from published sigma tables: Align Your Steps (NVIDIA), GITS and Optimal Steps, as ComfyUI's
nodes use them. ComfyUI's Optimal Steps tables (github.com/bebebe666/OptimalSteps) are for the flow
models FLUX, Wan and Chroma (sigmas in [0, 1]); it has none for the SD families, and neither has this.

A table lists the sigmas of one step count. Other step counts come from `loglinear_interp`: the
table's log sigmas, spread evenly over [0, 1], are linearly interpolated at steps + 1 evenly spread
points. `denoise` < 1 keeps the last round(steps * denoise) steps. As in ComfyUI the last sigma
kept is then set to 0 (the table's final, smallest sigma is replaced, not followed, by 0).
"""

from __future__ import annotations

import numpy as np
import torch

from diffusion.sampling.gits_tables import GRID, TABLES

# research.nvidia.com/labs/toronto-ai/AlignYourSteps: 10-step schedules, sigma_max to sigma_min.
ALIGN_YOUR_STEPS = {
    "SD1": (14.6146412293, 6.4745760956, 3.8636745985, 2.6946151520, 1.8841921177, 1.3943805092, 0.9642583904,
            0.6523686016, 0.3977456272, 0.1515232662, 0.0291671582),
    "SDXL": (14.6146412293, 6.3184485287, 3.7681790315, 2.1811480769, 1.3405244945, 0.8620721141, 0.5550693289,
             0.3798540708, 0.2332364134, 0.1114188177, 0.0291671582),
    "SVD": (700.00, 54.5, 15.886, 7.977, 4.248, 1.789, 0.981, 0.403, 0.173, 0.034, 0.002),
}
AYS_MODEL_TYPES = tuple(ALIGN_YOUR_STEPS)
OPTIMAL_STEPS = {
    "FLUX": (0.9968, 0.9886, 0.9819, 0.975, 0.966, 0.9471, 0.9158, 0.8287, 0.5512, 0.2808, 0.001),
    "Wan": (1.0, 0.997, 0.995, 0.993, 0.991, 0.989, 0.987, 0.985, 0.98, 0.975, 0.973, 0.968, 0.96, 0.946, 0.927,
            0.902, 0.864, 0.776, 0.539, 0.208, 0.001),
    "Chroma": (0.992, 0.99, 0.988, 0.985, 0.982, 0.978, 0.973, 0.968, 0.961, 0.953, 0.943, 0.931, 0.917, 0.9,
               0.881, 0.858, 0.832, 0.802, 0.769, 0.731, 0.69, 0.646, 0.599, 0.55, 0.501, 0.451, 0.402, 0.355,
               0.311, 0.27, 0.232, 0.199, 0.169, 0.143, 0.12, 0.101, 0.084, 0.07, 0.058, 0.048, 0.001),
}
OPTIMAL_STEPS_MODEL_TYPES = tuple(OPTIMAL_STEPS)
GITS_COEFFS = tuple(sorted(TABLES))
GITS_MAX_TABLE_STEPS = 20


def loglinear_interp(sigmas, count: int) -> np.ndarray:
    """`count` decreasing values interpolated linearly in log space through the decreasing `sigmas`."""
    ascending_logs = np.log(np.asarray(sigmas, dtype=np.float64)[::-1])
    positions = np.linspace(0, 1, len(ascending_logs))
    values = np.exp(np.interp(np.linspace(0, 1, count), positions, ascending_logs))
    return values[::-1].copy()


def _kept_steps(steps: int, denoise: float) -> int | None:
    """How many final steps `denoise` keeps; None when it keeps nothing (denoise <= 0)."""
    if denoise >= 1.0:
        return steps
    if denoise <= 0.0:
        return None
    return round(steps * denoise)


def _finish(sigmas, steps: int, denoise: float) -> torch.Tensor:
    kept = _kept_steps(steps, denoise)
    if kept is None:
        return torch.zeros(0, dtype=torch.float32)
    tail = [float(v) for v in sigmas][-(kept + 1):]
    tail[-1] = 0.0
    return torch.tensor(tail, dtype=torch.float32)


def align_your_steps_sigmas(model_type: str, steps: int, denoise: float = 1.0) -> torch.Tensor:
    """Align Your Steps for `model_type` ("SD1", "SDXL" or "SVD"): steps + 1 sigmas (fewer with denoise)."""
    if model_type not in ALIGN_YOUR_STEPS:
        raise ValueError(f"unknown model_type {model_type!r}; expected one of {', '.join(AYS_MODEL_TYPES)}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    table = ALIGN_YOUR_STEPS[model_type]
    sigmas = table if steps + 1 == len(table) else loglinear_interp(table, steps + 1)
    return _finish(sigmas, steps, denoise)


def gits_sigmas(coeff: float, steps: int, denoise: float = 1.0) -> torch.Tensor:
    """GITS for `coeff` (0.80 ... 1.50 by 0.05): the table of `steps` up to 20 steps, else the 20-step one interpolated."""
    key = round(coeff, 2)
    if key not in TABLES:
        raise ValueError(f"coeff must be one of {', '.join(f'{c:.2f}' for c in GITS_COEFFS)}, got {coeff}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    rows = TABLES[key]
    if steps <= GITS_MAX_TABLE_STEPS:
        sigmas = [GRID[i] for i in rows[steps - 2]]
    else:
        sigmas = loglinear_interp([GRID[i] for i in rows[-1]], steps + 1)
    return _finish(sigmas, steps, denoise)


def optimal_steps_sigmas(model_type: str, steps: int, denoise: float = 1.0) -> torch.Tensor:
    """Optimal Steps for `model_type` ("FLUX", "Wan" or "Chroma"): its table, interpolated unless it has steps + 1."""
    if model_type not in OPTIMAL_STEPS:
        raise ValueError(f"unknown model_type {model_type!r}; expected one of {', '.join(OPTIMAL_STEPS_MODEL_TYPES)}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    table = OPTIMAL_STEPS[model_type]
    sigmas = table if steps + 1 == len(table) else loglinear_interp(table, steps + 1)
    return _finish(sigmas, steps, denoise)
