"""Seal and open a large payload with Kuager's age and bundles next to the reference
``age`` binary, on the same bytes in the same run; print MB/s and peak memory.

    python -m bench [--size-mib 1024]      (or KUAGER_BENCH_SIZE_MIB)

Each step runs in its own process (``bench.worker`` or ``age``); peak memory is that
process's maximum resident set size (``/usr/bin/time``). Every step, bundle open
included, runs in one interleaved loop, best time of ``--repeat``, on the same bytes.
Inputs live in a temporary directory (plaintext, an age file and a bundle of it, about
3x the size); outputs go to /dev/null. Key wrapping (Argon2id, the store's real profile)
is timed ``--repeat`` times too, each in its own process with its peak memory.
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

from crypto import ARGON2ID_V1, generate_x25519_identity

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


def ours(step: str, src: Path, key: str, dst: str = os.devnull) -> list[str]:
    return [sys.executable, "-m", "bench.worker", step, str(src), dst, key]


Step = tuple[str, list[str], dict[str, str] | None]


def measure(steps: list[Step], repeat: int) -> list[tuple[str, float, float]]:
    """Run the steps interleaved ``repeat`` times: best time, worst peak memory.

    Interleaving and best-of-N keep a busy shared machine from favouring one side."""
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for name, args, env in steps:
            seconds, peak = run(args, env)
            old = best.get(name, (seconds, peak))
            best[name] = (min(seconds, old[0]), max(peak, old[1]))
    return [(name, *best[name]) for name, _, _ in steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = int(os.environ.get("KUAGER_BENCH_SIZE_MIB", "1024"))
    parser.add_argument("--size-mib", type=int, default=default)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    size = options.size_mib * MIB
    age = shutil.which("age")
    identity = generate_x25519_identity()
    recipient, secret = str(identity.recipient()), str(identity)
    with tempfile.TemporaryDirectory(prefix="kuager-bench-") as tmp:
        plain, cipher, keyfile = Path(tmp, "plain"), Path(tmp, "cipher.age"), Path(tmp, "key")
        bundle = Path(tmp, "bundle.age")
        keyfile.write_text(f"{identity}\n")
        env = dict(os.environ, BENCH_SIZE=str(size), BENCH_SHA256=make_plaintext(plain, size))
        subprocess.run(ours("age-seal", plain, recipient, str(cipher)), check=True)
        subprocess.run(ours("bundle-seal", plain, recipient, str(bundle)), check=True, env=env)
        steps: list[Step] = [
            ("kuager age seal", ours("age-seal", plain, recipient), None),
            ("kuager age open", ours("age-open", cipher, secret), None),
            ("kuager bundle seal", ours("bundle-seal", plain, recipient), env),
            ("kuager bundle open", ours("bundle-open", bundle, secret), None),
        ]
        if age:
            steps.append(("age seal", [age, "-r", recipient, "-o", os.devnull, str(plain)], None))
            steps.append(
                ("age open", [age, "-d", "-i", str(keyfile), "-o", os.devnull, str(cipher)], None)
            )
        rows = measure(steps, options.repeat)
    report(rows, size, bool(age))
    keywrap = [sys.executable, "-c", KEYWRAP_STEP]
    samples = [run(keywrap) for _ in range(max(options.repeat, 3))]
    times = sorted(seconds for seconds, _ in samples)
    print(f"keywrap {ARGON2ID_V1.name}: wrap + unwrap in a fresh process, {len(samples)} samples:"
          f" best {times[0] / 2:.2f} s, median {times[len(times) // 2] / 2:.2f} s per operation"
          f" (target >= 0.5 s), peak {max(peak for _, peak in samples):.0f} MiB")


#: One wrap and one unwrap with the store's real profile (start-up is a few ms of it).
KEYWRAP_STEP = (
    "from crypto import ARGON2ID_V1, unwrap_key, wrap_key; "
    "unwrap_key(wrap_key(bytes(32), 'bench', ARGON2ID_V1), 'bench')"
)


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
