"""Thread pools a process keeps for its whole life, made at first use and made again in a
forked child (the parent's threads do not exist there: work handed to them would wait forever).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor


class LazyPool:
    """`size` threads named `name`-…, made when first asked for."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        os.register_at_fork(after_in_child=self.forget)

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._size, thread_name_prefix=self._name)
            return self._pool

    def forget(self) -> None:
        """Drop the threads (in a forked child, where they do not exist): new ones are made
        when next needed."""
        self._lock = threading.Lock()
        self._pool = None
