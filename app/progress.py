"""A terminal view of execution events: one tqdm bar per long node, a line per node."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

from graph import events


class TerminalProgress:
    """An event sink for the CLI: shows which node runs and its step progress."""

    def __init__(self, prompt: dict, *, enabled: bool = True, stream: TextIO = sys.stderr) -> None:
        self.prompt = prompt
        self.enabled = enabled
        self.stream = stream
        self.bar: tqdm | None = None
        self.bar_node: str | None = None

    def _title(self, node_id: str) -> str:
        node = self.prompt.get(node_id) or {}
        title = (node.get("_meta") or {}).get("title") or node.get("class_type", "?")
        return f"#{node_id} {title}"

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if event == events.EXECUTION_CACHED and data.get("nodes"):
            print(f"cached: {len(data['nodes'])} node(s)", file=self.stream)
        elif event == events.EXECUTING and data.get("node") is not None:
            self._close_bar()
            print(f"running {self._title(str(data['node']))}", file=self.stream)
        elif event == events.PROGRESS_TEXT:
            line = f"{self._title(str(data.get('node_id')))}: {data.get('text', '')}"
            if self.bar is not None:
                self.bar.write(line, file=self.stream)
            else:
                print(line, file=self.stream)
        elif event == events.PROGRESS:
            node = str(data.get("node"))
            if self.bar is None or self.bar_node != node:
                self._close_bar()
                self.bar = tqdm(total=data.get("max") or 1, desc=self._title(node), file=self.stream, leave=False)
                self.bar_node = node
            self.bar.n = data.get("value", 0)
            self.bar.refresh()

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.bar_node = None

    def close(self) -> None:
        self._close_bar()
