"""Filters held in server memory under an opaque id, so a search never enters a URL.

The search box POSTs; the page stores the filters here and redirects to
``/reports?f=<id>``: the browser's history and address bar see a random id, never the
words searched for. An id is good only for the browser session that made it (``owner``),
for ``TTL`` seconds since its last use, and at most ``MAX_ENTRIES`` are kept (the oldest
go first). Nothing here is written to disk; a restart forgets every id.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")

TTL = 3600.0
MAX_ENTRIES = 2000


class SavedFilters(Generic[T]):
    def __init__(self, ttl: float = TTL, max_entries: int = MAX_ENTRIES) -> None:
        self._items: OrderedDict[str, tuple[str, T, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.ttl = ttl
        self.max_entries = max_entries

    def put(self, owner: str, value: T) -> str:
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._items[key] = (owner, value, time.monotonic())
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return key

    def get(self, owner: str, key: str) -> T | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] != owner or time.monotonic() - item[2] > self.ttl:
                if item[0] == owner:
                    del self._items[key]
                return None
            self._items[key] = (item[0], item[1], time.monotonic())
            self._items.move_to_end(key)
            return item[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
