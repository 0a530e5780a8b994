"""Whole export of a field store holding one large attachment, next to ``age`` on the same bytes.

    python -m bench.export_store [--size-mib 1024]

Builds a field store with one report and one attachment of the given size (encrypted at
rest as usual), then times, each in its own process with its peak memory:

* ``kuager export``: decrypt the attachment from the store, hash it, seal it into a signed
  bundle, fsync, read back and compare;
* ``age -r KEY -o OUT PLAINTEXT``: the reference tool encrypting the same bytes from a
  plaintext file (no store, no signature, no read-back).

The store key is wrapped with the real Argon2id profile, as in production: the
``kuager export`` process's peak therefore includes Argon2id's memory (printed as is),
and the export's own peak, measured after unlocking (``bench.exchange``'s worker, which
resets the high-water mark), is printed beside it.

Target (issue 4): at least 0.5x age's throughput, export's own peak under 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1 << 20
PASSPHRASE = "benchmark passphrase words"  # noqa: S105 - a throw-away store
TIME = "/usr/bin/time"


def _chunks(size: int) -> object:
    block = os.urandom(MIB)
    for offset in range(0, size, MIB):
        yield block[: min(MIB, size - offset)]


def build_store(root: Path, size: int) -> tuple[Path, str, Path]:
    """A field store with one report and one ``size``-byte attachment, and those bytes in clear."""
    from app.config import Config
    from app.records import reports
    from app.records.attachments import insert_row, write_encrypted
    from app.store import keyring
    from app.store.store import Store
    from crypto import keys

    coordinator = keys.generate_x25519_identity()
    store = Store(Config(data_dir=root / "field"))
    store.create(PASSPHRASE, "field")
    conn = store.connect()
    keyring.initialise(conn, "field")
    keyring.add_recipient(conn, str(coordinator.recipient()))
    body = reports.body_from_form({"title": "bench", "description": "bench", "region": "astana"})
    report_id = reports.create(conn, body)
    stored = write_encrypted(store.config, _chunks(size))
    insert_row(
        conn,
        report_id,
        "video.mp4",
        "video/mp4",
        stored,
        original_size=size,
        original_sha256=stored.sha256,
        metadata_removed=False,
    )
    conn.commit()
    conn.close()
    # The same bytes in clear, for age: decrypt what the store holds.
    from app.records.attachments import read_chunks

    plain = root / "plain.bin"
    with open(plain, "wb") as fh:
        for chunk in read_chunks(store.config, stored.file_name, stored.key):
            fh.write(chunk)
    store.lock()
    return root / "field", str(coordinator.recipient()), plain


def timed(args: list[str], stdin: str | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one child process, measured by /usr/bin/time when present."""
    with tempfile.NamedTemporaryFile("r") as report:
        prefix = [TIME, "-f", "%M", "-o", report.name] if Path(TIME).exists() else []
        started = time.perf_counter()
        subprocess.run(
            prefix + args,
            input=stdin,
            text=True,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - started
        peak = float(report.read().strip().splitlines()[-1]) / 1024 if prefix else float("nan")
    return elapsed, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size-mib", type=int, default=int(os.environ.get("KUAGER_BENCH_SIZE_MIB", "1024"))
    )
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    age = shutil.which("age")
    with tempfile.TemporaryDirectory(
        prefix="kuager-bench-", dir=os.environ.get("KUAGER_BENCH_DIR")
    ) as tmp:
        root = Path(tmp)
        data, recipient, plain = build_store(root, size)
        # The export includes starting Python and unlocking the store: time that alone.
        unlock, _ = timed(
            [sys.executable, "-m", "app", "--data", str(data), "recipients", "list"],
            PASSPHRASE + "\n",
        )
        copy = root / "copy"
        shutil.copytree(data, copy)
        (copy / "kuager.lock").unlink(missing_ok=True)
        export_s, export_peak = timed(
            [
                sys.executable,
                "-m",
                "app",
                "--data",
                str(data),
                "export",
                "--out",
                str(root / "bundle.age"),
            ],
            PASSPHRASE + "\n",
        )
        rows = [("kuager export (store -> bundle)", size / (export_s - unlock) / 1e6, export_peak)]
        (root / "own").mkdir()
        own = json.loads(subprocess.run(  # the same export, its own peak after unlocking
            [sys.executable, "-m", "bench.exchange", "--worker", "export", str(copy),
             str(root / "own")], check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1])
        rows.append(("  the export alone, after unlock", size / own["seconds"] / 1e6,
                     own["peak"]))
        if age:
            age_s, age_peak = timed([age, "-r", recipient, "-o", str(root / "age.out"), str(plain)])
            rows.append(("age -r (plaintext file -> file)", size / age_s / 1e6, age_peak))
    print(
        f"\nWhole export, {args.size_mib} MiB attachment "
        f"(start-up and unlock with Argon2id, {unlock:.2f} s, subtracted; the first peak"
        f" includes Argon2id's memory)"
    )
    print(f"{'what':<36} {'MB/s':>9} {'peak MiB':>9}")
    for name, rate, peak in rows:
        print(f"{name:<36} {rate:>9.1f} {peak:>9.1f}")
    if len(rows) == 3:
        ratio = rows[0][1] / rows[2][1]
        print(f"{'ratio kuager/age':<36} {ratio:>9.2f}   (target >= 0.50; peak < 100 MiB)")
    else:
        print("age is not installed: no comparison (apt-get install age)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
