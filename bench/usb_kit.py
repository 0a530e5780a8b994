"""The USB kit: its size, and how long ``start serve`` takes to show its first page.

    python -m bench.usb_kit [--kit dist/kuager-usb] [--runs 3]

Copies the kit to a fresh folder (as onto a stick), then times ``start serve --port 0
--no-browser`` from the moment it is started to the first page answered (the setup page
of an empty store): the first start after the copy, and the median of the next runs. In
the same run, for comparison, ``python -m app serve`` from the source checkout. Page-cache
state is whatever the machine has: a copy just made is usually cached, a stick pulled and
plugged in again is not, so a real cold start from a slow stick is longer.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


def size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / MIB


def first_page(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from start to the first page served; the server is stopped afterwards."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, cwd=cwd,
                            start_new_session=True)
    try:
        if proc.stdout is None:
            raise RuntimeError("no standard output")
        line = b""
        deadline = started + 120
        while not line.endswith(b"\n") and time.perf_counter() < deadline:
            ready, _w, _x = select.select([proc.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
        url = line.decode().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"no URL from {argv[0]}: {url!r}")
        with urllib.request.urlopen(url, timeout=60) as page:  # noqa: S310 - loopback
            page.read()
        return time.perf_counter() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        proc.stdout.close()  # type: ignore[union-attr]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", type=Path, default=ROOT / "dist" / "kuager-usb")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print("\nUSB kit: size and start of `start serve` to the first page")
    if not (args.kit / "start").is_file():
        print(f"no kit in {args.kit}: run `make usb` first")
        return 0
    with tempfile.TemporaryDirectory(prefix="kuager-bench-kit-") as scratch:
        kit = Path(scratch) / "stick" / "kuager-usb"
        shutil.copytree(args.kit, kit)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        rows = []
        times = []
        for run in range(1 + args.runs):
            env["KUAGER_DATA"] = str(Path(scratch) / f"kit-data-{run}")
            times.append(first_page([str(kit / "start"), "serve", "--port", "0",
                                     "--no-browser"], env, kit))
        rows.append(("kit: first start after the copy", times[0]))
        rows.append((f"kit: median of the next {args.runs}", statistics.median(times[1:])))
        source = []
        for run in range(args.runs):
            source_env = {**os.environ, "KUAGER_DATA": str(Path(scratch) / f"src-{run}")}
            source.append(first_page([sys.executable, "-m", "app", "serve", "--port", "0",
                                      "--no-browser"], source_env, ROOT))
        rows.append((f"python -m app (source), median of {args.runs}", statistics.median(source)))
        print(f"{'what':<44} {'seconds':>8}")
        for name, seconds in rows:
            print(f"{name:<44} {seconds:>8.2f}")
        print(f"{'kit size (MiB)':<44} {size_mib(args.kit):>8.1f}")
        for part in ("_internal", "tor", "age"):
            if (args.kit / part).is_dir():
                print(f"{'  of which ' + part:<44} {size_mib(args.kit / part):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
