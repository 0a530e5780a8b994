"""Shared helpers for bundle tests, the fuzz target and the vector checks."""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterator

from crypto._manifest import Manifest, ManifestEntry
from crypto.bundle import BundleEntry, open_bundle
from crypto.device import DeviceKey
from crypto.keys import Identity


def entry(name: str, data: bytes, step: int = 65536) -> BundleEntry:
    def chunks() -> Iterator[bytes]:
        return (data[i : i + step] for i in range(0, len(data), step))

    return BundleEntry(name, len(data), hashlib.sha256(data).digest(), chunks)


class _Buf(bytearray):
    def write(self, data: bytes) -> int:
        self.extend(data)
        return len(data)


class MemorySink:
    def __init__(self) -> None:
        self.staged: dict[str, _Buf] = {}

    @contextlib.contextmanager
    def __call__(self, item: ManifestEntry) -> Iterator[_Buf]:
        yield self.staged.setdefault(item.name, _Buf())

    def as_bytes(self) -> dict[str, bytes]:
        return {k: bytes(v) for k, v in self.staged.items()}


def open_bytes(data: bytes, identities: list[Identity]) -> tuple[Manifest, dict[str, bytes]]:
    sink = MemorySink()
    manifest = open_bundle(io.BytesIO(data), identities, sink)
    return manifest, sink.as_bytes()


DEVICE = DeviceKey.from_private_bytes(bytes(range(32)))
