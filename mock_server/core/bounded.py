"""A cache bounded twice: in entries and in bytes.

Every cache of the mock is one of these, so that no client, however hostile, can grow one past
its cap: a flood of distinct 8 KB query strings evicts old entries instead of taking memory.
Eviction is first in, first out; each entry's size is the caller's estimate in bytes.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["BoundedCache", "Meter"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most ``max_items`` entries of at most ``max_bytes`` bytes in all."""

    __slots__ = ("_entries", "_size", "max_bytes", "max_items")

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._entries: dict[K, tuple[V, int]] = {}
        self._size = 0

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        return None if found is None else found[0]

    def put(self, key: K, value: V, size: int) -> None:
        """Keep ``value`` (of about ``size`` bytes) unless it alone is over the byte cap."""
        if size > self.max_bytes // 4:
            return  # one entry never takes more than a quarter of the cache
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= old[1]
        while self._entries and (len(self._entries) >= self.max_items or self._size + size > self.max_bytes):
            oldest = next(iter(self._entries))
            self._size -= self._entries.pop(oldest)[1]
        self._entries[key] = (value, size)
        self._size += size

    def clear(self) -> None:
        self._entries.clear()
        self._size = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """The sum of the sizes of the entries kept."""
        return self._size


class Meter:
    """A running count of bytes, shared by the things it measures (the jobs' logs)."""

    __slots__ = ("bytes",)

    def __init__(self) -> None:
        self.bytes = 0
