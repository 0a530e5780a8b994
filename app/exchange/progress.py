"""A progress bar for long exports and imports: on a terminal only, silent otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Bytes and reports done; redraws at most ten times a second."""

    def __init__(self, stream: TextIO | None, total_bytes: int = 0) -> None:
        self.stream = stream
        self.total_bytes = total_bytes
        self.bytes_done = 0
        self.reports_done = 0
        self._last = 0.0

    @classmethod
    def for_stderr(cls) -> Progress:
        return cls(sys.stderr if sys.stderr.isatty() else None)

    def start(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes

    def add(self, nbytes: int = 0, reports: int = 0) -> None:
        self.bytes_done += nbytes
        self.reports_done += reports
        now = time.monotonic()
        if self.stream is not None and now - self._last >= 0.1:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        if self.stream is None:
            return
        total = max(self.total_bytes, 1)
        share = min(1.0, self.bytes_done / total)
        bar = "#" * int(share * 30)
        self.stream.write(
            f"\r[{bar:<30}] {share:6.1%}  {self.bytes_done / 1e6:9.1f} MB"
            f"  {self.reports_done} reports"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
