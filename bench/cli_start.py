"""How fast the ``kuager`` command starts, beside the Python it runs on, in the same run.

    python -m bench.cli_start [--runs 15]

Rows (best and median of N, interleaved so that load on the machine hits every row alike):
bare ``python -c pass``; ``python -c "import click"`` (the floor for a click CLI);
``kuager --help`` in English and in Russian; ``kuager init --help``; and ``kuager serve``
from start to the first page answered (a fresh field store, the passphrase on stdin, the
real KDF settings). Wall time, and the CPU time (user + system) of the child, which a busy
shared machine distorts less. The children write and use bytecode caches as an installed
Kuager does (``PYTHONDONTWRITEBYTECODE`` is dropped; one warm-up run each): without them
every run would compile the sources again.
The goal (issue 10): ``kuager --help`` under 0.1 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PY = sys.executable
PASSPHRASE = "correct horse battery staple orbit"  # noqa: S105 - a throwaway store
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
EN = {**ENV, "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}
RU = {**EN, "LANG": "ru_RU.UTF-8"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child)."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)
    return time.perf_counter() - start, _children_cpu() - cpu


def _serve_to_first_page(data: Path) -> float:
    """Seconds from starting ``kuager serve`` (store unlocked from stdin) to a 200."""
    start = time.perf_counter()
    proc = subprocess.Popen([PY, "-m", "app", "--data", str(data), "serve", "--port", "0",
                             "--no-browser"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=EN)
    try:
        if proc.stdin is None or proc.stdout is None:
            raise RuntimeError("no pipes")
        proc.stdin.write(PASSPHRASE + "\n")
        proc.stdin.close()
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"serve printed {url!r}")
        with urllib.request.urlopen(url + "reports", timeout=60) as response:  # noqa: S310
            response.read()
        return time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    serve = "kuager serve, to first page"
    commands = {
        "python -c pass": ([PY, "-c", "pass"], EN),
        'python -c "import click"': ([PY, "-c", "import click"], EN),
        "kuager --help": ([PY, "-m", "app", "--help"], EN),
        "kuager --help (ru)": ([PY, "-m", "app", "--help"], RU),
        "kuager init --help": ([PY, "-m", "app", "init", "--help"], EN),
    }
    wall: dict[str, list[float]] = {name: [] for name in [*commands, serve]}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for args, env in commands.values():  # warm-up: bytecode caches written
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=env)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "store"
        subprocess.run([PY, "-m", "app", "--data", str(data), "init", "--role", "field"],
                       input=PASSPHRASE + "\n", text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=EN)
        for _ in range(runs):
            for name, (args, env) in commands.items():
                seconds, cpu_seconds = _timed(args, env)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
            if len(wall[serve]) < max(3, runs // 5):
                wall[serve].append(_serve_to_first_page(data))
    print(f"CLI start ({runs} runs interleaved; serve {len(wall[serve])}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    print(f"{'':30} {'best s':>8} {'median s':>9} {'CPU best s':>11} {'CPU median s':>13}")
    for name, times in wall.items():
        spent = cpu.get(name)
        cpu_cells = (f"{min(spent):11.3f} {statistics.median(spent):13.3f}" if spent
                     else f"{'':>11} {'':>13}")
        print(f"{name:30} {min(times):8.3f} {statistics.median(times):9.3f} {cpu_cells}")
    click_row = 'python -c "import click"'
    helps, bare, floor = (min(wall[name]) for name in ("kuager --help", "python -c pass",
                                                       click_row))
    cpu_helps, cpu_bare, cpu_floor = (min(cpu[name]) for name in ("kuager --help",
                                                                  "python -c pass", click_row))
    print(f"kuager --help, best: {helps:.3f} s (goal < 0.100 s): "
          f"{'met' if helps < 0.1 else 'NOT met'}; {helps - bare:.3f} s above bare Python, "
          f"{helps - floor:.3f} s above importing click (the floor of a click CLI); CPU: "
          f"{cpu_helps - cpu_bare:.3f} s above bare Python, {cpu_helps - cpu_floor:.3f} s "
          f"above click")


if __name__ == "__main__":
    main()
