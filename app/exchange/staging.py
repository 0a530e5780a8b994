"""Where an importing bundle's entries wait until the whole bundle has verified.

Report documents (small JSON) stay in memory; everything else goes to an
``EncryptedSpool`` under a key that exists only in memory: no plaintext temporary file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from app.config import Config
from app.exchange.progress import Progress
from app.i18n import format_size
from app.messages import gettext as _
from app.store.spool import EncryptedSpool
from crypto.bundle import PADDING_ENTRY, ManifestEntry

#: A report's JSON entry is read into memory; anything larger is hostile. The largest report
#: the desk can write is about 1 MiB (a 200,000-character description in Cyrillic is 400 KB
#: of UTF-8; groups hold at most 50 rows of short fields), so 4 MiB leaves room and keeps a
#: hostile device's entry small (it was 16 MiB).
MAX_REPORT_ENTRY = 4 * 1024 * 1024


class ImportRefused(Exception):
    """The bundle was not imported; the store is unchanged. The message says why.

    ``cause``: the crypto or operating-system error behind it, whose own text is English;
    pages and the CLI show ``refusals.explain(exc)`` instead."""

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class _MemorySink:
    def __init__(self, progress: Progress) -> None:
        self.data = bytearray()
        self.progress = progress

    def write(self, chunk: Any) -> int:
        self.data += chunk
        self.progress.add(len(chunk))
        return len(chunk)


class _NullSink:
    """The ``padding`` entry: zero bytes that only make the file one size among many."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def write(self, chunk: Any) -> int:
        self.progress.add(len(chunk))
        return len(chunk)


class _SpoolSink:
    def __init__(self, spool: EncryptedSpool, progress: Progress) -> None:
        self.spool, self.progress = spool, progress

    def write(self, chunk: Any) -> int:
        self.progress.add(len(chunk))
        return self.spool.write(chunk)


class Staging:
    """The ``sink`` given to ``open_bundle``; ``discard`` removes every spool left."""

    def __init__(self, cfg: Config, progress: Progress) -> None:
        self.cfg, self.progress = cfg, progress
        self.json: dict[str, bytes] = {}
        self.files: dict[str, EncryptedSpool] = {}

    @contextlib.contextmanager
    def sink(self, entry: ManifestEntry) -> Iterator[Any]:
        if entry.name == PADDING_ENTRY:
            yield _NullSink(self.progress)  # its SHA-256 is still checked by open_bundle
        elif entry.name.endswith(".json"):
            if entry.size > MAX_REPORT_ENTRY:
                raise ImportRefused(_("a report entry is implausibly large (%(size)s; at most "
                                      "%(limit)s)", size=format_size(entry.size),
                                      limit=format_size(MAX_REPORT_ENTRY)))
            buffer = _MemorySink(self.progress)
            yield buffer
            self.json[entry.name] = bytes(buffer.data)
        else:
            spool = EncryptedSpool(self.cfg.spool_dir)
            self.files[entry.name] = spool
            yield _SpoolSink(spool, self.progress)
            spool.seal()

    def discard(self) -> None:
        for spool in self.files.values():
            spool.close()
