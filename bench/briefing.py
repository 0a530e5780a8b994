"""Statistics and tables over a large coordinator store (issue 13), printed as a table.

    python -m bench.briefing [--reports 100000] [--repeat 20]

Builds a coordinator store of N generated reports (two devices, one confirmed; a tenth of
the reports with a second revision; some rejected), written the way an import writes
them, then measures in the same run:

* ``stats.count`` by each field, a few two-field cross-tabs, people and two filtered
  counts: p50 and p95 over ``--repeat`` runs (targets: one field p95 < 300 ms, cross-tab
  p95 < 500 ms), each beside the same count made the way it was made before
  ``report_facts`` existed (one ``GROUP BY`` over the report heads, each joined to its
  facets; the people read from every body), which must give the same groups;
* rebuilding ``report_facts`` for every report (what migration 4 does on a store made
  before it), and what its triggers add to writing a report's head;
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
#: Filtered counts: (label, filter options as ``kuager stats`` takes them, field).
FILTERED = (("act, region = almaty_city", {"region": ["almaty_city"]}, "act"),
            ("month, 2025", {"from": ["2025-01-01"], "to": ["2025-12-31"]}, "month"))


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


def legacy_count(conn, by, scope=None, *, unit="reports"):  # type: ignore[no-untyped-def]
    """The count as app/review/stats.py made it before ``report_facts`` (kept here as the
    reference the new count is timed and checked against): the heads ``GROUP BY``, each
    head joined to its facets (one index search per report), the body read for the people
    and for the precision of dates that fall on 1 January."""
    from app.review import stats

    scope = scope or stats.Scope()
    people = unit == "people"
    precision = ("(SELECT coalesce(json_extract(x.body, '$.occurred_precision'), 'day') "
                 "FROM reports x WHERE x.id = h.report_id AND x.revision = h.revision)")
    single = {
        "region": "nullif(h.region, '')", "status": "nullif(h.triage, '')",
        "device": "d.fingerprint",
        "month": ("CASE WHEN h.occurred_start IS NULL OR length(h.occurred_on) < 7 THEN NULL "
                  "WHEN substr(h.occurred_start, 1, 7) <> substr(h.occurred_on, 1, 7) "
                  "THEN NULL WHEN substr(h.occurred_start, 6, 5) <> '01-01' "
                  "THEN substr(h.occurred_on, 1, 7) "
                  f"WHEN {precision} IN ('day', 'month') THEN substr(h.occurred_on, 1, 7) END"),
        "year": "CASE WHEN h.occurred_start IS NOT NULL THEN substr(h.occurred_start, 1, 4) END",
    }
    body_join = "JOIN reports r ON r.id = h.report_id AND r.revision = h.revision"
    stats.roomy(conn)
    source, where, params = stats.scope_sql(conn, scope)
    joins, values = [], []
    if people:
        joins += [body_join, "JOIN json_each(r.body, '$.victims') v"]
    for name in by:
        if name in single:
            values.append(single[name])
        elif name == "victim_role" and people:
            values.append("nullif(json_extract(v.value, '$.role'), '')")
        else:
            join = (f"LEFT JOIN report_facets f_{name} ON f_{name}.report_id = h.report_id "
                    f"AND f_{name}.kind = '{name}'")
            if join not in joins:
                joins.append(join)
            values.append(f"f_{name}.code")
    columns = ", ".join(f"{value} AS g{i}" for i, value in enumerate(values))
    groups = ", ".join(f"g{i}" for i in range(len(values)))
    sql = (f"SELECT {columns}, count(*) FROM {source} {' '.join(joins)} "  # noqa: S608
           f"WHERE {where} GROUP BY {groups}")
    rows = {tuple(row[:-1]): int(row[-1]) for row in conn.execute(sql, params)}
    # the totals: one more pass over the heads (the bodies, for people)
    source, where, params = stats.scope_sql(conn, scope, held_apart=False)
    unit_sql = "json_array_length(r.body, '$.victims')" if people else "1"
    sql = (f"SELECT sum({unit_sql}) FROM {source} {body_join if people else ''} "  # noqa: S608
           f"WHERE {where}")
    conn.execute(sql, params).fetchone()
    return rows


def _p50_p95(run, repeat: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Wall-clock p50 and p95, and the median processor time of this process (ms): on a
    shared machine the wall clock also counts the waits for a core."""
    run()  # warm the page cache
    seconds, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    seconds.sort()
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    return statistics.median(seconds) * 1000, p95 * 1000, statistics.median(cpu) * 1000


Timing = tuple[float, float, float]


def time_stats(root: Path, repeat: int,
               legacy: bool = True) -> list[tuple[str, Timing, Timing, int, bool]]:
    """(label, before (p50, p95, cpu), after (p50, p95, cpu), counted, same groups)."""
    from app.review import filters, stats

    store = _open(root)
    conn = store.connect()
    rows = []
    work = [((name,), "reports", None) for name in FIELDS_TO_TIME]
    work += [(("region",), "people", None), (("victim_role",), "people", None)]
    work += [(pair, "reports", None) for pair in CROSS]
    work += [((name,), "reports", (label, given)) for label, given, name in FILTERED]
    for by, unit, filtered in work:
        scope = stats.Scope()
        if filtered:
            scope = stats.Scope(filters=filters.from_dict(filtered[1], role="coordinator",
                                                          conn=conn))
        result = stats.count(conn, by, scope, unit=unit)
        new = _p50_p95(lambda by=by, unit=unit, scope=scope: stats.count(
            conn, by, scope, unit=unit), repeat)
        old = (float("nan"),) * 3
        same = True
        if legacy:
            same = legacy_count(conn, by, scope, unit=unit) == dict(result.rows)
            old = _p50_p95(lambda by=by, unit=unit, scope=scope: legacy_count(
                conn, by, scope, unit=unit), max(1, repeat // 2))
        label = " x ".join(by) + (" (people)" if unit == "people" else "")
        label = f"{filtered[0]} (filter)" if filtered else label
        rows.append((label, old, new, result.total, same))
    conn.close()
    store.lock()
    return rows


def time_upkeep(root: Path, sample: int = 2000) -> tuple[float, float, float, int]:
    """(seconds to rebuild every report's facts, ms per head write with the triggers,
    ms without, reports): all in transactions that are rolled back."""
    from app.records import reports
    from app.review import stats
    from app.store import migrations

    store = _open(root)
    conn = store.connect()
    stats.roomy(conn)
    ids = [r[0] for r in conn.execute("SELECT report_id FROM report_heads ORDER BY report_id"
                                      " LIMIT ?", (sample,))]
    heads = conn.execute("SELECT count(*) FROM report_heads").fetchone()[0]
    # (one script each: executescript commits what is pending before it runs)
    start = time.perf_counter()
    conn.executescript("BEGIN; DELETE FROM report_facts;")
    emptied = time.perf_counter() - start
    conn.rollback()
    start = time.perf_counter()
    conn.executescript("BEGIN; DELETE FROM report_facts;"  # noqa: S608 - a constant
                       + migrations._FACTS_REBUILD)
    rebuild = time.perf_counter() - start - emptied  # what migration 4 runs
    conn.rollback()
    stats.roomy(conn)

    def writes() -> float:
        conn.execute("BEGIN")
        start = time.perf_counter()
        for report_id in ids:
            reports.refresh_head(conn, report_id)
        took = time.perf_counter() - start
        conn.rollback()
        return took * 1000 / len(ids)

    with_triggers = writes()
    conn.execute("BEGIN")
    triggers = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'report_heads'")]
    for name in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    start = time.perf_counter()
    for report_id in ids:
        reports.refresh_head(conn, report_id)
    without = (time.perf_counter() - start) * 1000 / len(ids)
    conn.rollback()
    conn.close()
    store.lock()
    return rebuild, with_triggers, without, heads


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
    count = tables.write_table(conn, out, fmt, options, connect=store.connect)  # as the CLI
    print(json.dumps({"rows": count}), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--worker", nargs=3, metavar=("FORMAT", "STORE", "OUT"))
    parser.add_argument("--skip-tables", action="store_true",
                        help="Only the statistics (a shorter run).")
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
        print(f"\nstatistics over {options.reports} reports ({options.repeat} runs each; "
              f"before: the former query, {max(1, options.repeat // 2)} runs)")
        print(f"{'':<34} {'before (ms)':>24} {'after (ms)':>24}")
        print(f"{'count by':<34} {'p50':>8} {'p95':>7} {'cpu':>7} {'p50':>8} {'p95':>7} "
              f"{'cpu':>7} {'target':>7} {'counted':>8}")
        for label, old, new, total, same in time_stats(big, options.repeat):
            target = 500 if " x " in label else 300
            mark = "ok" if new[1] < target else "SLOW"
            target_text = f"<{target}"
            if "(people)" in label:
                target_text, mark = "", ""
            mark += "" if same else " NUMBERS DIFFER"
            print(f"{label:<34} {old[0]:>8.1f} {old[1]:>7.1f} {old[2]:>7.1f} {new[0]:>8.1f} "
                  f"{new[1]:>7.1f} {new[2]:>7.1f} {target_text:>7} {total:>8} {mark}")
        rebuild, with_triggers, without, heads = time_upkeep(big)
        print(f"\nreport_facts: rebuilt for {heads} reports in {rebuild:.1f} s (migration 4); "
              f"a head write takes {with_triggers:.2f} ms with its triggers, "
              f"{without:.2f} ms without")
        if options.skip_tables:
            return
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
