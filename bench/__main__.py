"""Seal and open a large payload with Kuager's age and bundles next to the reference
``age`` binary, on the same bytes in the same run; print MB/s and peak memory.

    python -m bench [--size-mib 1024]      (or KUAGER_BENCH_SIZE_MIB)

Each step runs in its own process (``bench.worker`` or ``age``); peak memory is that
process's maximum resident set size from ``wait4``. Inputs live in a temporary
directory (plaintext and one ciphertext, about 2x the size); outputs go to /dev/null.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crypto import generate_x25519_identity

MIB = 1 << 20


TIME = "/usr/bin/time"


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of one child process.

    Peak memory comes from /usr/bin/time: a process forked from this (large) Python
    inherits its high-water mark across exec, so wait4 here would over-report."""
    with tempfile.NamedTemporaryFile("r") as report:
        prefix = [TIME, "-f", "%M", "-o", report.name] if Path(TIME).exists() else []
        start = time.perf_counter()
        subprocess.run(prefix + args, check=True, env=env)
        elapsed = time.perf_counter() - start
        peak_kib = float(report.read().strip().splitlines()[-1]) if prefix else float("nan")
    return elapsed, peak_kib / 1024


def make_plaintext(path: Path, size: int) -> str:
    """Write ``size`` bytes (a random 1 MiB block repeated); return their SHA-256."""
    block, digest = os.urandom(MIB), hashlib.sha256()
    with path.open("wb") as out:
        for offset in range(0, size, MIB):
            out.write(block[: min(MIB, size - offset)])
            digest.update(block[: min(MIB, size - offset)])
    return digest.hexdigest()


def ours(step: str, src: Path, key: str) -> list[str]:
    return [sys.executable, "-m", "bench.worker", step, str(src), os.devnull, key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = int(os.environ.get("KUAGER_BENCH_SIZE_MIB", "1024"))
    parser.add_argument("--size-mib", type=int, default=default)
    size = parser.parse_args().size_mib * MIB
    age = shutil.which("age")
    identity = generate_x25519_identity()
    recipient = str(identity.recipient())
    with tempfile.TemporaryDirectory(prefix="kuager-bench-") as tmp:
        plain, cipher, keyfile = Path(tmp, "plain"), Path(tmp, "cipher.age"), Path(tmp, "key")
        keyfile.write_text(f"{identity}\n")
        env = dict(os.environ, BENCH_SIZE=str(size), BENCH_SHA256=make_plaintext(plain, size))
        rows = [("kuager age seal", *run(ours("age-seal", plain, recipient)))]
        subprocess.run(
            ours("age-seal", plain, recipient)[:-2] + [str(cipher), recipient], check=True
        )
        rows.append(("kuager age open", *run(ours("age-open", cipher, str(identity)))))
        rows.append(("kuager bundle seal", *run(ours("bundle-seal", plain, recipient), env)))
        if age:
            rows.append(("age seal", *run([age, "-r", recipient, "-o", os.devnull, str(plain)])))
            rows.append(
                ("age open", *run([age, "-d", "-i", str(keyfile), "-o", os.devnull, str(cipher)]))
            )
        with cipher.open("wb") as out:  # reuse the slot: a bundle of the same bytes
            subprocess.run(
                ours("bundle-seal", plain, recipient)[:-2] + ["/dev/stdout", recipient],
                check=True,
                stdout=out,
                env=env,
            )
        rows.append(("kuager bundle open", *run(ours("bundle-open", cipher, str(identity)))))
    report(rows, size, bool(age))


def report(rows: list[tuple[str, float, float]], size: int, have_age: bool) -> None:
    print(f"payload: {size / MIB:.0f} MiB")
    print(f"{'step':<20} {'seconds':>8} {'MB/s':>8} {'peak MiB':>9}")
    for name, seconds, peak in rows:
        print(f"{name:<20} {seconds:>8.2f} {size / seconds / 1e6:>8.0f} {peak:>9.1f}")
    if not have_age:
        print("reference age binary not found: install the Debian package 'age'")
        return
    speed = {name: size / seconds for name, seconds, _ in rows}
    for ours_name, ref in [
        ("kuager age seal", "age seal"),
        ("kuager age open", "age open"),
        ("kuager bundle seal", "age seal"),
        ("kuager bundle open", "age open"),
    ]:
        print(f"{ours_name} / {ref}: {speed[ours_name] / speed[ref]:.2f}x")


if __name__ == "__main__":
    main()
