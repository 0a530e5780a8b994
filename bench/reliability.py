"""Run the reliability suite and the exchange benchmarks; write their figures into
docs/RELIABILITY.md (``make reliability``).

    python -m bench.reliability [--quick]

Runs, each once: the crash rounds, the sweep and exchange-fault tests, the bounded fuzz
run, and ``bench.exchange`` for 10,000 small reports and for 1,000 reports with a 20 KiB
attachment each (``--quick``: 2,000 and 200, best of 2). Only the part of the document
between the ``figures:exchange`` markers is rewritten; the rest (the web server's
section included) is left as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "RELIABILITY.md"
BEGIN, END = "<!-- figures:exchange -->", "<!-- /figures:exchange -->"
TESTS = [
    "tests/test_crash_rounds.py",
    "tests/test_sweep.py",
    "tests/test_exchange_faults.py",
    "tests/crypto/test_fuzz_bundle.py",
    "tests/crypto/test_padding.py",
]


def _pytest(out: Path) -> tuple[str, float]:
    env = dict(os.environ, KUAGER_RELIABILITY_OUT=str(out / "crash.json"),
               KUAGER_RELIABILITY_FUZZ_OUT=str(out / "fuzz.json"))
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *TESTS], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False)
    summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    if result.returncode:
        print(result.stdout[-4000:], result.stderr[-2000:])
        raise SystemExit(f"the reliability tests failed: {summary}")
    return summary, time.monotonic() - started


def _bench(out: Path, reports: int, kib: int, repeat: int) -> dict:
    path = out / f"bench-{reports}-{kib}.json"
    subprocess.run([sys.executable, "-m", "bench.exchange", "--reports", str(reports),
                    "--attachment-kib", str(kib), "--repeat", str(repeat), "--json", str(path)],
                   cwd=ROOT, check=True)
    return json.loads(path.read_text())


def _bench_table(rows: list[dict]) -> list[str]:
    lines = ["| workload | bundles | MB | kuager export s | age -r s | ratio (goal ≤ 3×) "
             "| kuager import s | age -d s | ratio (goal ≤ 5×) | kuager open s | import / open "
             "(goal ≤ 3×) | store floor s (× open) | peak MiB export / import |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r["steps"]
        work = f"{r['reports']:,} reports" + (f" + {r['attachment_kib']} KiB attachment each"
                                              if r["attachment_kib"] else " (small)")
        lines.append(
            f"| {work} | {r['bundles']} | {r['bundle_bytes'] / 1e6:.1f} "
            f"| {s['kuager export']['seconds']:.3f} | {s['age -r']['seconds']:.3f} "
            f"| {r['ratios']['export']:.1f}× | {s['kuager import']['seconds']:.3f} "
            f"| {s['age -d']['seconds']:.3f} | {r['ratios']['import']:.1f}× "
            f"| {s['kuager open']['seconds']:.3f} | {r['import_over_open']:.1f}× "
            f"| {s['store floor']['seconds']:.3f} ({r['floor_over_open']:.1f}×) "
            f"| {s['kuager export']['peak']:.0f} / {s['kuager import']['peak']:.0f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kuager-reliability-") as tmp:
        out = Path(tmp)
        summary, seconds = _pytest(out)
        crash = json.loads((out / "crash.json").read_text())
        fuzz = json.loads((out / "fuzz.json").read_text())
        small, attached = (2_000, 200) if options.quick else (10_000, 1_000)
        repeat = 2 if options.quick else 3
        benches = [_bench(out, small, 0, repeat), _bench(out, attached, 20, repeat)]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    kills = [e for e in crash["log"] if e.get("rc") == -9]
    figures = [
        BEGIN,
        f"Last run: {when}, {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load:.1f} at the end (the machine is shared: absolute times vary from run to run, "
        "the ratios, measured interleaved on the same bytes, much less).",
        "",
        f"- Suite: `{summary}` in {seconds:.0f} s ({', '.join(TESTS)}).",
        f"- Crash rounds: {crash['rounds']} rounds, {len(kills)} processes killed by SIGKILL "
        f"({sum(1 for e in kills if e.get('fault'))} at a named moment), "
        f"{crash['acknowledged']} reports acknowledged, {crash['at_coordinator']} at the "
        f"coordinator at the end, 0 lost, 0 twice, 0 orphans; {crash['seconds']} s "
        f"(seed {crash['seed']}).",
        f"- Fuzzing: {fuzz['runs']} inputs in {fuzz['seconds']:.0f} s "
        f"(file {fuzz['per_target']['file']}, plaintext {fuzz['per_target']['plaintext']}, "
        f"signed manifest {fuzz['per_target']['manifest']}), 0 failures (seed {fuzz['seed']}).",
        f"- Exchange, best of {repeat}, interleaved, store key {benches[0]['kdf']} "
        "(unlock not in the times; peak = the step's own high-water mark):",
        "",
        *_bench_table(benches),
        END,
    ]
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + "\n".join(figures) + tail, encoding="utf-8")
    print("\n".join(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
