"""One benchmark step, run in its own process so its peak memory can be measured alone.

python -m bench.worker age-seal|bundle-seal PLAIN OUT RECIPIENT
python -m bench.worker age-open|bundle-open CIPHER OUT IDENTITY
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import BinaryIO

from crypto import (
    BundleEntry,
    DeviceKey,
    ManifestEntry,
    decrypt,
    encrypt,
    open_bundle,
    parse_identity,
    parse_recipient,
    seal_bundle,
)

BUFFER = 1 << 20


def _chunks(src: BinaryIO) -> Iterator[memoryview]:
    buf = bytearray(BUFFER)
    view = memoryview(buf)
    while n := src.readinto(buf):  # type: ignore[attr-defined]
        yield view[:n]


def age_seal(src: BinaryIO, dst: BinaryIO, recipient: str) -> None:
    with encrypt(dst, [parse_recipient(recipient)]) as writer:
        for chunk in _chunks(src):
            writer.write(chunk)


def age_open(src: BinaryIO, dst: BinaryIO, identity: str) -> None:
    for chunk in decrypt(src, [parse_identity(identity)]):
        dst.write(chunk)


def bundle_seal(src: BinaryIO, dst: BinaryIO, recipient: str) -> None:
    # The app knows each attachment's size and SHA-256 from its store; so does the bench.
    size, digest = int(os.environ["BENCH_SIZE"]), bytes.fromhex(os.environ["BENCH_SHA256"])

    def content() -> Iterator[memoryview]:
        return _chunks(src)

    entry = BundleEntry("attachment.bin", size, digest, content)  # type: ignore[arg-type]
    seal_bundle(dst, [parse_recipient(recipient)], DeviceKey.generate(), 1, [entry], {})


def bundle_open(src: BinaryIO, dst: BinaryIO, identity: str) -> None:
    @contextlib.contextmanager
    def sink(_entry: ManifestEntry) -> Iterator[BinaryIO]:
        yield dst

    open_bundle(src, [parse_identity(identity)], sink)


STEPS = {
    "age-seal": age_seal,
    "age-open": age_open,
    "bundle-seal": bundle_seal,
    "bundle-open": bundle_open,
}


def main(argv: list[str]) -> None:
    step, src_path, dst_path, key = argv
    with open(src_path, "rb") as src, open(dst_path, "wb") as dst:
        STEPS[step](src, dst, key)


if __name__ == "__main__":
    main(sys.argv[1:])
