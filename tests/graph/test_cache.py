"""The output cache and its eviction policies."""

import pytest

from graph.cache import CacheEntry, LRUPolicy, OutputCache, UnboundedPolicy, estimate_size


def entry(value, ui=None):
    return CacheEntry(outputs=([value],), ui=ui)


class Buffer:
    """Looks like a numpy array: exposes nbytes."""

    def __init__(self, nbytes):
        self.nbytes = nbytes


class TensorLike:
    """Looks like a torch tensor: element_size() and numel()."""

    def __init__(self, numel, element_size=4):
        self._numel, self._size = numel, element_size

    def element_size(self):
        return self._size

    def numel(self):
        return self._numel


def test_get_put_contains_clear_stats():
    cache = OutputCache()
    assert cache.get("a") is None
    cache.put("a", entry(1))
    assert cache.contains("a") and "a" in cache and len(cache) == 1
    assert cache.get("a").outputs == ([1],)
    cache.put("b", entry(2))
    cache.clear()
    assert len(cache) == 0
    stats = cache.stats()
    assert stats["hits"] == 1 and stats["misses"] == 1 and stats["entries"] == 0 and stats["bytes"] == 0


def test_lru_evicts_by_count_least_recently_used_first():
    cache = OutputCache(LRUPolicy(max_entries=2))
    cache.put("a", entry(1))
    cache.put("b", entry(2))
    cache.get("a")  # a is now the most recently used
    cache.put("c", entry(3))
    assert "a" in cache and "c" in cache and "b" not in cache
    assert cache.stats()["evictions"] == 1


def test_lru_evicts_by_bytes():
    cache = OutputCache(LRUPolicy(max_bytes=1000), sizeof=lambda outputs: outputs[0][0].nbytes)
    cache.put("a", entry(Buffer(400)))
    cache.put("b", entry(Buffer(400)))
    assert cache.stats()["bytes"] == 800
    cache.put("c", entry(Buffer(400)))
    assert "a" not in cache and "b" in cache and "c" in cache
    cache.put("huge", entry(Buffer(5000)))
    assert "huge" not in cache and "c" in cache  # too big on its own: dropped, nothing else lost


def test_replacing_a_key_updates_its_size():
    policy = LRUPolicy(max_bytes=1000)
    cache = OutputCache(policy, sizeof=lambda outputs: outputs[0][0])
    cache.put("a", entry(600))
    cache.put("a", entry(300))
    assert policy.total_bytes == 300 and len(cache) == 1


def test_zero_entries_caches_nothing():
    cache = OutputCache(LRUPolicy(max_entries=0))
    cache.put("a", entry(1))
    assert len(cache) == 0


def test_unbounded_policy_keeps_everything():
    cache = OutputCache(UnboundedPolicy())
    for i in range(500):
        cache.put(i, entry(i))
    assert len(cache) == 500


def test_bad_policy_bounds_refused():
    with pytest.raises(ValueError):
        LRUPolicy(max_entries=-1)
    with pytest.raises(ValueError):
        LRUPolicy(max_bytes=-5)


def test_failing_sizeof_falls_back_to_estimate():
    def broken(outputs):
        raise RuntimeError("no")

    cache = OutputCache(LRUPolicy(max_bytes=10**9), sizeof=broken)
    cache.put("a", entry("x"))
    assert cache.stats()["bytes"] > 0


def test_estimate_size_understands_buffers_and_containers():
    assert estimate_size(Buffer(10_000)) == 10_000
    assert estimate_size(TensorLike(1000, 2)) == 2000
    shared = Buffer(1_000_000)
    nested = {"samples": shared, "again": [shared, (shared,)]}
    assert 1_000_000 <= estimate_size(nested) < 1_010_000
    assert estimate_size(CacheEntry(outputs=([Buffer(5000)],), ui={"images": []})) >= 5000


def test_estimate_size_walks_object_attributes_and_survives_cycles():
    class Model:
        def __init__(self):
            self.weights = [Buffer(3000), Buffer(2000)]
            self.me = self

    assert estimate_size(Model()) >= 5000
    loop = []
    loop.append(loop)
    assert estimate_size(loop) > 0
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert estimate_size(deep) > 0


def test_estimate_size_of_broken_duck():
    class Liar:
        @property
        def nbytes(self):
            raise RuntimeError("nope")

    assert estimate_size(Liar()) > 0
