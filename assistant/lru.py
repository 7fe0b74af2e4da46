"""A bounded, thread-safe map that keeps the most recently used entries."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """At most `capacity` entries (0 keeps none); reading one makes it the most recent."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        """The entry for `key`, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The entries held among `keys`."""
        found: dict[K, V] = {}
        with self._lock:
            for key in keys:
                value = self._items.get(key)
                if value is not None:
                    self._items.move_to_end(key)
                    found[key] = value
        return found

    def put(self, key: K, value: V) -> None:
        """Keep `value`, dropping the least recently used entries beyond the capacity."""
        self.put_many({key: value})

    def put_many(self, items: dict[K, V]) -> None:
        """Keep every item, dropping the least recently used entries beyond the capacity."""
        with self._lock:
            for key, value in items.items():
                self._items[key] = value
                self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
