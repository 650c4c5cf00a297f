"""ComfyUI's filename-prefix variables for saved outputs (%width%, %year%, ...), expanded once per batch."""

from __future__ import annotations

import time


def expand_prefix(prefix: str, width: int, height: int, now: time.struct_time | None = None) -> str:
    """Replaces %width% %height% %year% %month% %day% %hour% %minute% %second% in `prefix`."""
    if "%" not in prefix:
        return prefix
    now = now or time.localtime()
    values = {
        "%width%": str(width), "%height%": str(height), "%year%": str(now.tm_year),
        "%month%": f"{now.tm_mon:02}", "%day%": f"{now.tm_mday:02}", "%hour%": f"{now.tm_hour:02}",
        "%minute%": f"{now.tm_min:02}", "%second%": f"{now.tm_sec:02}",
    }
    for name, value in values.items():
        prefix = prefix.replace(name, value)
    return prefix
