"""The output cache: node results keyed by structural signature, with a swappable eviction policy.

`OutputCache` stores `CacheEntry` objects (the per-output value lists and the ui dict of
a node). How much it keeps is decided by a policy object: `LRUPolicy(max_entries,
max_bytes)` evicts the least recently used entries once either bound is passed;
`UnboundedPolicy` keeps everything. Entry sizes come from a pluggable `sizeof(value)`
callable; the default estimate understands nested containers and anything exposing
``nbytes`` or ``element_size()`` and ``numel()`` (tensors, arrays) without importing them.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class CacheEntry:
    """A node's stored result: one list of values per output, and its merged ui dict (or None)."""

    outputs: tuple[list, ...]
    ui: dict | None = None


def estimate_size(value: Any, _limit: int = 10_000) -> int:
    """A cheap estimate of the memory held by `value`, in bytes.

    Buffers are counted through duck typing (``nbytes``, or ``element_size() * numel()``);
    containers and object attributes are walked without recursion, visiting at most
    `_limit` objects; shared objects are counted once.
    """
    total = 0
    seen: set[int] = set()
    stack = [value]
    visited = 0
    while stack and visited < _limit:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        visited += 1
        nbytes = _buffer_size(item)
        if nbytes is not None:
            total += nbytes
            continue
        try:
            total += sys.getsizeof(item)
        except Exception:
            total += 64
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, CacheEntry):
            stack.append(item.outputs)
            stack.append(item.ui)
        else:
            attributes = getattr(item, "__dict__", None)
            if isinstance(attributes, dict):
                stack.extend(attributes.values())
    return total


def _buffer_size(item: Any) -> int | None:
    if isinstance(item, (str, bytes, bytearray, int, float, bool, type(None), list, tuple, dict, set, frozenset)):
        return None
    try:
        nbytes = getattr(item, "nbytes", None)
        if isinstance(nbytes, int) and not isinstance(nbytes, bool):
            return nbytes
        element_size = getattr(item, "element_size", None)
        numel = getattr(item, "numel", None)
        if callable(element_size) and callable(numel):
            return int(element_size()) * int(numel())
    except Exception:
        return None
    return None


class EvictionPolicy(Protocol):
    """Decides which keys leave the cache. The cache reports every change to it."""

    def added(self, key: Hashable, size: int) -> None: ...

    def used(self, key: Hashable) -> None: ...

    def removed(self, key: Hashable) -> None: ...

    def victims(self) -> list[Hashable]:
        """Keys to evict now (oldest first)."""
        ...


class UnboundedPolicy:
    """Keeps everything (until the cache is cleared)."""

    def added(self, key: Hashable, size: int) -> None:
        pass

    def used(self, key: Hashable) -> None:
        pass

    def removed(self, key: Hashable) -> None:
        pass

    def victims(self) -> list[Hashable]:
        return []


class LRUPolicy:
    """Least recently used first, once more than `max_entries` entries or `max_bytes` bytes are held.

    Either bound may be None (no bound). An entry larger than `max_bytes` on its own is
    evicted at once: caching it would push out everything else.
    """

    def __init__(self, max_entries: int | None = None, max_bytes: int | None = None):
        if max_entries is not None and max_entries < 0:
            raise ValueError("max_entries must be >= 0")
        if max_bytes is not None and max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._sizes: OrderedDict[Hashable, int] = OrderedDict()
        self.total_bytes = 0

    def added(self, key: Hashable, size: int) -> None:
        self.removed(key)
        self._sizes[key] = size
        self.total_bytes += size

    def used(self, key: Hashable) -> None:
        if key in self._sizes:
            self._sizes.move_to_end(key)

    def removed(self, key: Hashable) -> None:
        size = self._sizes.pop(key, None)
        if size is not None:
            self.total_bytes -= size

    def victims(self) -> list[Hashable]:
        victims: list[Hashable] = []
        count, total = len(self._sizes), self.total_bytes
        newest = next(reversed(self._sizes), None)
        if newest is not None and self.max_bytes is not None and self._sizes[newest] > self.max_bytes:
            victims.append(newest)  # too big on its own: it goes, the others stay
            count -= 1
            total -= self._sizes[newest]
        for key, size in self._sizes.items():
            over_count = self.max_entries is not None and count > self.max_entries
            over_bytes = self.max_bytes is not None and total > self.max_bytes
            if not (over_count or over_bytes) or key == newest and victims:
                break
            victims.append(key)
            count -= 1
            total -= size
        return victims


class OutputCache:
    """Node results by signature. Not thread-safe: one executor uses it at a time."""

    def __init__(self, policy: EvictionPolicy | None = None, sizeof: Callable[[Any], int] = estimate_size):
        self.policy: EvictionPolicy = policy if policy is not None else UnboundedPolicy()
        self.sizeof = sizeof
        self._entries: dict[Hashable, CacheEntry] = {}
        self._sizes: dict[Hashable, int] = {}
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: Hashable) -> CacheEntry | None:
        """The entry for `key` (counted as a use by the policy), or None."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self.policy.used(key)
        return entry

    def contains(self, key: Hashable) -> bool:
        """Whether `key` is cached (does not count as a use)."""
        return key in self._entries

    __contains__ = contains

    def put(self, key: Hashable, entry: CacheEntry) -> None:
        """Store an entry, then evict whatever the policy says (possibly this entry).

        Its size is `sizeof(entry.outputs)`; a sizeof that raises falls back to the estimate.
        """
        try:
            size = int(self.sizeof(entry.outputs))
        except Exception:
            size = estimate_size(entry)
        self._entries[key] = entry
        self._sizes[key] = size
        self.policy.added(key, size)
        for victim in self.policy.victims():
            self._drop(victim)
            self.evictions += 1

    def _drop(self, key: Hashable) -> None:
        self._entries.pop(key, None)
        self._sizes.pop(key, None)
        self.policy.removed(key)

    def clear(self) -> None:
        """Forget every entry (the counters are kept)."""
        for key in list(self._entries):
            self._drop(key)

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> dict[str, int]:
        """Counts for monitoring: entries, bytes, hits, misses, evictions."""
        return {
            "entries": len(self._entries),
            "bytes": sum(self._sizes.values()),
            "hits": self.hits,
            "misses": self.misses,
            "evictions": self.evictions,
        }
