"""Automatic layout for workflows that arrive without positions (API format → UI format).

Nodes are placed in columns by graph depth — the longest path from a node without
inputs — left to right, and stacked top to bottom inside a column, ordered by the mean
row of their upstream nodes so that wires mostly run straight. Column widths are the
widest node of the column, so no two node rectangles (title bar included) overlap.
Sizes are estimated the way LiteGraph draws a node: a title bar above the body, one
row per socket, one row per widget, tall text boxes for multiline strings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence

TITLE_HEIGHT = 30
SLOT_HEIGHT = 20
WIDGET_HEIGHT = 24
MULTILINE_HEIGHT = 100
MIN_WIDTH = 220
MULTILINE_WIDTH = 400
CHAR_WIDTH = 8
COLUMN_GAP = 100
ROW_GAP = 40


def estimate_node_size(
    title: str, input_sockets: int, outputs: int, widgets: int, multiline_widgets: int = 0
) -> tuple[int, int]:
    """Width and body height (the title bar is drawn above ``pos``, as in LiteGraph)."""
    width = max(MIN_WIDTH, CHAR_WIDTH * len(title) + 60)
    if multiline_widgets:
        width = max(width, MULTILINE_WIDTH)
    rows = max(input_sockets, outputs)
    height = rows * SLOT_HEIGHT + (widgets - multiline_widgets) * WIDGET_HEIGHT
    height += multiline_widgets * MULTILINE_HEIGHT + 10
    return width, max(height, 2 * SLOT_HEIGHT)


def node_depths(nodes: Sequence[Hashable], edges: Iterable[tuple[Hashable, Hashable]]) -> dict[Hashable, int]:
    """Longest-path depth from the sources (Kahn's order); nodes caught in a cycle go one column further."""
    successors: dict[Hashable, list] = defaultdict(list)
    indegree = dict.fromkeys(nodes, 0)
    for src, dst in edges:
        if src in indegree and dst in indegree and src != dst:
            successors[src].append(dst)
            indegree[dst] += 1
    depth = dict.fromkeys(nodes, 0)
    ready = [n for n in nodes if indegree[n] == 0]
    done = set()
    while ready:
        node = ready.pop()
        done.add(node)
        for nxt in successors[node]:
            depth[nxt] = max(depth[nxt], depth[node] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    if len(done) < len(nodes):
        deepest = max((depth[n] for n in done), default=-1)
        for node in nodes:
            if node not in done:
                depth[node] = deepest + 1
    return depth


def layered_layout(
    nodes: Sequence[Hashable],
    sizes: dict[Hashable, tuple[int, int]],
    edges: Sequence[tuple[Hashable, Hashable]],
    origin: tuple[int, int] = (0, 0),
) -> dict[Hashable, tuple[int, int]]:
    """Positions (``pos``, the top-left of the body) for `nodes` in depth columns, with no overlaps."""
    depth = node_depths(nodes, edges)
    order = {node: i for i, node in enumerate(nodes)}
    predecessors: dict[Hashable, list] = defaultdict(list)
    for src, dst in edges:
        if src in order and dst in order and src != dst:
            predecessors[dst].append(src)
    columns: dict[int, list] = defaultdict(list)
    for node in nodes:
        columns[depth[node]].append(node)

    row_of: dict[Hashable, float] = {}
    positions: dict[Hashable, tuple[int, int]] = {}
    x = origin[0]
    for column in sorted(columns):
        members = columns[column]

        def barycenter(node: Hashable) -> tuple[float, int]:
            rows = [row_of[p] for p in predecessors[node] if p in row_of]
            return (sum(rows) / len(rows) if rows else float(order[node]), order[node])

        members.sort(key=barycenter)
        y = origin[1] + TITLE_HEIGHT
        for row, node in enumerate(members):
            row_of[node] = row
            positions[node] = (x, y)
            y += sizes[node][1] + TITLE_HEIGHT + ROW_GAP
        x += max(sizes[node][0] for node in members) + COLUMN_GAP
    return positions
