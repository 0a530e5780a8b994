"""Statistics and tables over a large coordinator store (issue 13), printed as a table.

    python -m bench.briefing [--reports 100000] [--repeat 20]

Builds a coordinator store of N generated reports (two devices, one confirmed; a tenth of
the reports with a second revision; some rejected), written the way an import writes
them, then measures in the same run:

* ``stats.count`` by each field, and a few two-field cross-tabs: p50 and p95 over
  ``--repeat`` runs (targets: one field p95 < 300 ms, cross-tab p95 < 500 ms);
* ``kuager table`` CSV and XLSX of every report (``--all-reports --include-unconfirmed
  --include-rejected``), each in its own process, with its peak memory, for N/10 and N
  reports: constant memory means the two peaks are close (targets: CSV of 100,000 < 10 s,
  XLSX < 30 s).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PASSPHRASE = "benchmark passphrase words"  # noqa: S105 - a throw-away store
TIME = "/usr/bin/time"
FIELDS_TO_TIME = ("region", "right", "act", "perpetrator", "victim_role", "month", "year",
                  "status", "device")
CROSS = (("act", "month"), ("region", "victim_role"), ("perpetrator", "act"))


def _cheap_kdf() -> None:
    from app.store import store as store_module
    from crypto import keywrap

    # The statistics are measured, not the KDF.
    store_module.KDF_PROFILE = keywrap.TEST_PROFILE


def _body(rng: random.Random) -> dict:
    from app.records import codes, reports

    def some(code_list: codes.CodeList, most: int) -> list[str]:
        return rng.sample(sorted(codes.codes(code_list)), rng.randint(0, most))

    year = rng.choice([2023, 2024, 2025, 2026])
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    precision = rng.choices(["day", "month", "year", "unknown"], [80, 10, 7, 3])[0]
    occurred = {"day": f"{year}-{month:02d}-{day:02d}", "month": f"{year}-{month:02d}",
                "year": f"{year}", "unknown": ""}[precision]
    victims = [{"name": rng.choice(["Айгүл Сәрсенбаева", "Ерлан Қуаныш", "Мария Иванова"]),
                "role": rng.choice(sorted(codes.codes(codes.VICTIM_ROLES))),
                "consent": True, "may_name": rng.random() < 0.5}
               for _ in range(rng.randint(0, 3))]
    return reports.body_from_form({
        "title": "Пикет у акимата " + str(rng.randint(1, 10**6)),
        "description": "Белсенді ұсталды. Активиста задержали на 15 суток. " * 8,
        "occurred_on": occurred, "occurred_precision": precision,
        "region": rng.choice(sorted(codes.codes(codes.REGIONS))),
        "place": "Алматы", "rights": some(codes.RIGHTS, 3), "acts": some(codes.ACTS, 3),
        "victims": victims,
        "perpetrators": [{"kind": rng.choice(sorted(codes.codes(codes.PERPETRATORS))),
                          "name": ""} for _ in range(rng.randint(0, 2))],
        "legal": [{"code": "administrative", "article": "488"}],
        "sources": some(codes.SOURCES, 2), "sensitivity": "normal",
        "may_publish": rng.random() < 0.7, "withhold_names": rng.random() < 0.2,
        "contact": "reporter@example.org",
    })


def build_store(root: Path, count: int) -> Path:
    """A coordinator store of ``count`` reports, inserted as ``exchange.records`` does."""
    _cheap_kdf()
    from app.config import Config
    from app.records import reports
    from app.store import keyring
    from app.store.store import Store
    from app.timeutil import utc_now

    rng = random.Random(count)  # noqa: S311 - a reproducible corpus
    store = Store(Config(data_dir=root))
    store.create(PASSPHRASE, "coordinator")
    conn = store.connect()
    keyring.initialise(conn, "coordinator")
    now = utc_now()
    devices = [uuid.uuid4().hex for _ in range(2)]
    for n, device_id in enumerate(devices):
        conn.execute("INSERT INTO devices(device_id, public_key, fingerprint, first_seen)"
                     " VALUES (?,?,?,?)", (device_id, "x", f"{n:05d} 00000 00000", now))
    columns = {row[1] for row in conn.execute("PRAGMA table_info(devices)")}
    if "confirmed" in columns:
        conn.execute("UPDATE devices SET confirmed = 1 WHERE device_id = ?", (devices[0],))
    refresh = getattr(reports, "refresh_head", None)
    conn.commit()
    for i in range(count):
        report_id = uuid.uuid4().hex
        device_id = devices[0] if i % 5 else devices[1]
        for revision in (1, 2) if i % 10 == 0 else (1,):
            body = _body(rng)
            conn.execute(
                "INSERT INTO reports(id, revision, origin, status, created_at, updated_at,"
                " title, occurred_on, region, body, content_sha256, source_device,"
                " bundle_sequence, imported_at) VALUES (?,?,?,'imported',?,?,?,?,?,?,?,?,?,?)",
                (report_id, revision, "operator", now, now, body["title"],
                 body["occurred_on"], body["region"], reports.canonical_json(body),
                 reports.content_hash(body), device_id, 1, now))
            if refresh is not None:
                refresh(conn, report_id)
        if i % 50 == 0:
            _reject(conn, report_id)
    conn.commit()
    conn.close()
    store.lock()
    return root


def _reject(conn, report_id: str) -> None:  # type: ignore[no-untyped-def]
    columns = {row[1] for row in conn.execute("PRAGMA table_info(report_heads)")}
    if "triage" in columns:
        conn.execute("UPDATE report_heads SET triage = 'rejected' WHERE report_id = ?",
                     (report_id,))
    else:
        conn.execute("UPDATE reports SET status = 'rejected' WHERE id = ?", (report_id,))


def _open(root: Path):  # type: ignore[no-untyped-def]
    _cheap_kdf()
    from app.config import Config
    from app.store.store import Store

    store = Store(Config(data_dir=root))
    store.unlock(PASSPHRASE)
    return store


def time_stats(root: Path, repeat: int) -> list[tuple[str, float, float, int]]:
    from app.review import stats

    store = _open(root)
    conn = store.connect()
    rows = []
    work = [((name,), "reports") for name in FIELDS_TO_TIME]
    work += [(("region",), "people"), (("victim_role",), "people")]
    work += [(pair, "reports") for pair in CROSS]
    for by, unit in work:
        stats.count(conn, by, unit=unit)  # warm the page cache
        seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = stats.count(conn, by, unit=unit)
            seconds.append(time.perf_counter() - start)
        seconds.sort()
        p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
        label = " x ".join(by) + (" (people)" if unit == "people" else "")
        rows.append((label, statistics.median(seconds) * 1000, p95 * 1000, result.total))
    conn.close()
    store.lock()
    return rows


def run_table(root: Path, fmt: str, out: Path) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of ``kuager table`` in its own process."""
    args = [sys.executable, "-m", "bench.briefing", "--worker", fmt, str(root), str(out)]
    with tempfile.NamedTemporaryFile("r") as report:
        prefix = [TIME, "-f", "%M", "-o", report.name] if Path(TIME).exists() else []
        start = time.perf_counter()
        subprocess.run(prefix + args, check=True)
        elapsed = time.perf_counter() - start
        peak = float(report.read().strip().splitlines()[-1]) / 1024 if prefix else float("nan")
    return elapsed, peak


def worker(fmt: str, root: Path, out: Path) -> None:
    from app.review import tables
    from app.review.stats import Scope

    store = _open(root)
    conn = store.connect()
    options = tables.TableOptions(scope=Scope(include_unconfirmed=True, include_rejected=True),
                                  publication=False)
    count = tables.write_table(conn, out, fmt, options)
    print(json.dumps({"rows": count}), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--worker", nargs=3, metavar=("FORMAT", "STORE", "OUT"))
    parser.add_argument("--keep", type=Path, default=None,
                        help="Build the stores in this folder and keep them (reused when "
                             "there already): for repeated runs.")
    options = parser.parse_args()
    if options.worker:
        worker(options.worker[0], Path(options.worker[1]), Path(options.worker[2]))
        return
    with tempfile.TemporaryDirectory(prefix="kuager-bench-") as tmp:
        home = options.keep or Path(tmp)
        big = home / f"store-{options.reports}"
        small = home / f"store-{max(1, options.reports // 10)}"
        start = time.perf_counter()
        for root, count in ((big, options.reports), (small, max(1, options.reports // 10))):
            if not (root / "kuager.db").exists():
                build_store(root, count)
        print(f"built stores of {options.reports} and {max(1, options.reports // 10)} "
              f"reports in {time.perf_counter() - start:.0f} s")
        print(f"\nstatistics over {options.reports} reports ({options.repeat} runs each)")
        print(f"{'count by':<34} {'p50 ms':>8} {'p95 ms':>8} {'target':>8} {'counted':>8}")
        for label, p50, p95, total in time_stats(big, options.repeat):
            target = 500 if " x " in label else 300
            mark = "ok" if p95 < target else "SLOW"
            print(f"{label:<34} {p50:>8.1f} {p95:>8.1f} {'<' + str(target):>8} {total:>8} {mark}")
        print("\ntables (own process each; peak = max resident set)")
        print(f"{'table':<22} {'reports':>8} {'seconds':>8} {'target':>7} {'peak MiB':>9}")
        for fmt, target in (("csv", 10), ("xlsx", 30)):
            for root, n in ((small, max(1, options.reports // 10)), (big, options.reports)):
                out = Path(tmp, f"{root.name}.{fmt}")
                seconds, peak = run_table(root, fmt, out)
                size = out.stat().st_size / (1 << 20)
                out.unlink()
                goal = f"<{target}" if root is big else ""
                print(f"{fmt + f' ({size:.0f} MiB)':<22} {n:>8} {seconds:>8.2f} {goal:>7} "
                      f"{peak:>9.1f}")


if __name__ == "__main__":
    main()
