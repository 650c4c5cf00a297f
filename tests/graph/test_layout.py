"""Automatic layered layout: depth columns, no overlapping nodes."""

import random

import pytest

from graph.layout import (
    MIN_WIDTH,
    MULTILINE_WIDTH,
    TITLE_HEIGHT,
    estimate_node_size,
    layered_layout,
    node_depths,
)


def overlap(pos_a, size_a, pos_b, size_b) -> bool:
    ax, ay, aw, ah = pos_a[0], pos_a[1] - TITLE_HEIGHT, size_a[0], size_a[1] + TITLE_HEIGHT
    bx, by, bw, bh = pos_b[0], pos_b[1] - TITLE_HEIGHT, size_b[0], size_b[1] + TITLE_HEIGHT
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def test_depth_is_the_longest_path_from_a_source():
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("x", "d")]
    assert node_depths(["a", "b", "c", "d", "x"], edges) == {"a": 0, "b": 1, "c": 2, "d": 3, "x": 0}


def test_cycles_and_self_loops_do_not_hang():
    depths = node_depths(["a", "b", "c", "s"], [("a", "b"), ("b", "c"), ("c", "b"), ("s", "s")])
    assert depths["a"] == 0 and depths["s"] == 0
    assert depths["b"] == depths["c"] == 1  # one column after the deepest placed node


def test_edges_to_unknown_nodes_are_ignored():
    assert node_depths([1, 2], [(1, 2), (2, 99), (98, 1)]) == {1: 0, 2: 1}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_thirty_random_nodes_never_overlap_and_columns_follow_depth(seed):
    rng = random.Random(seed)
    nodes = list(range(30))
    edges = [(rng.randrange(0, i), i) for i in range(1, 30) for _ in range(rng.randint(0, 2))]
    sizes = {n: (rng.randint(150, 500), rng.randint(40, 400)) for n in nodes}
    positions = layered_layout(nodes, sizes, edges, origin=(100, 50))
    assert set(positions) == set(nodes)
    for a in nodes:
        for b in nodes:
            if a < b:
                assert not overlap(positions[a], sizes[a], positions[b], sizes[b]), (a, b)
    depth = node_depths(nodes, edges)
    for a in nodes:
        for b in nodes:
            if depth[a] < depth[b]:
                assert positions[a][0] < positions[b][0]
            if depth[a] == depth[b]:
                assert positions[a][0] == positions[b][0]
    assert min(p[0] for p in positions.values()) == 100
    assert min(p[1] for p in positions.values()) == 50 + TITLE_HEIGHT


def test_a_chain_is_one_row():
    positions = layered_layout(["a", "b", "c"], dict.fromkeys("abc", (200, 100)), [("a", "b"), ("b", "c")])
    assert len({p[1] for p in positions.values()}) == 1
    assert positions["a"][0] < positions["b"][0] < positions["c"][0]


def test_empty_layout():
    assert layered_layout([], {}, []) == {}


def test_size_estimate_grows_with_content():
    small = estimate_node_size("VAE Decode", 2, 1, 0)
    sampler = estimate_node_size("KSampler", 4, 1, 7)
    text = estimate_node_size("CLIP Text Encode (Prompt)", 1, 1, 1, multiline_widgets=1)
    assert small[0] == MIN_WIDTH and sampler[1] > small[1]
    assert text[0] >= MULTILINE_WIDTH and text[1] > small[1]
    assert estimate_node_size("x" * 80, 0, 0, 0)[0] > MIN_WIDTH
