"""The coordinator workbench at scale (issue 12): list pages, searches and combined filters
over a coordinator store of ``--reports`` reports, next to a plain ``LIKE`` scan of the
same store in the same run; and the unlock time next to the KDF alone.

    python -m bench.workbench [--reports 100000] [--repeat 30] [--store DIR]

Fast path (documented, not the import path): a real coordinator store is created with
the production KDF; reports are written as the importer writes them (one ``reports`` row
per report from one of 20 devices, then ``reports.refresh_head`` for its head, facets
and full-text entry, as the import's flush does) in one transaction. ``--store DIR``
keeps the store in DIR and reuses it on the next run (built when DIR is empty). Bodies
are synthetic (bench/search_fts.py: catalog words in kk/ru/en and Kazakh and Russian
names, Cyrillic or Latin). The list page is timed through the Flask
app (the whole HTTP GET with rendering, in process); searches and filters through
``review.listing.page`` (count + one page of 50 + highlighting), which the page calls.
Prints p50/p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import random
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from app.config import Config
from app.records import reports
from app.review import filters as review_filters
from app.review import listing
from app.store import keyfile, keyring
from app.store.store import KDF_PROFILE, Store
from app.web.factory import create_operator_app
from bench.search_fts import NAMES, catalog_words, synthetic_body
from crypto import keywrap
from crypto.errors import WrongPassphrase

PASSPHRASE = "bench horse battery staple words"  # noqa: S105 - a throwaway store
REGIONS = ["astana", "almaty_city", "shymkent", "mangystau", "pavlodar", "abai", "jambyl"]
ACTS = ["detention_administrative", "fine", "search_raid", "summons", "threat", "arrest"]
RIGHTS = ["expression", "assembly", "association", "liberty", "fair_trial"]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _body(rng: random.Random, vocabulary: list[str], n: int) -> dict[str, Any]:
    extra = synthetic_body(rng, vocabulary)
    year, month = rng.choice((2024, 2025, 2026)), rng.randint(1, 12)
    precision = rng.choices(("day", "month", "year"), weights=(8, 2, 1))[0]
    occurred = {"day": f"{year}-{month:02d}-{rng.randint(1, 28):02d}",
                "month": f"{year}-{month:02d}", "year": f"{year}"}[precision]
    return reports.body_from_form({
        **extra,
        "title": f"{extra['title']} {n}",
        "occurred_on": occurred,
        "occurred_precision": precision,
        "region": rng.choice(REGIONS),
        "rights": rng.sample(RIGHTS, rng.randint(1, 2)),
        "acts": rng.sample(ACTS, rng.randint(1, 2)),
        "perpetrators": [{"kind": rng.choice(("police", "knb", "court")), "name": ""}],
        "victims": [{**extra["victims"][0], "role": rng.choice(("journalist", "activist"))}],
        "sensitivity": rng.choices(("normal", "high", "critical"), weights=(20, 4, 1))[0],
    })


def build(store: Store, count: int, vocabulary: list[str]) -> None:
    rng = random.Random(20)  # noqa: S311 - reproducible fake data
    conn = store.connect()
    devices = [hashlib.sha256(f"device{d}".encode()).hexdigest()[:32] for d in range(20)]
    for d, device in enumerate(devices):
        conn.execute("INSERT INTO devices(device_id, public_key, fingerprint, first_seen,"
                     " confirmed) VALUES (?,?,?,?,?)", (device, "00" * 32,
                                                        f"{d:05d} 00000 00000 00000 00000 00000",
                                                        "2026-01-01T00:00:00Z", int(d < 18)))
    start = time.perf_counter()
    for n in range(count):
        body = _body(rng, vocabulary, n)
        report_id = hashlib.sha256(f"r{n}".encode()).hexdigest()[:32]
        stamp = f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:{n % 60:02d}Z"
        conn.execute(
            "INSERT INTO reports(id, revision, origin, status, created_at, updated_at, title,"
            " occurred_on, region, body, content_sha256, source_device, bundle_sequence,"
            " imported_at) VALUES (?,1,'operator','imported',?,?,?,?,?,?,?,?,?,?)",
            (report_id, stamp, stamp, body["title"], body["occurred_on"], body["region"],
             reports.canonical_json(body), reports.content_hash(body), devices[n % 20],
             1 + n // 1000, stamp))
        reports.refresh_head(conn, report_id)
    conn.commit()
    conn.close()
    print(f"wrote {count} reports (heads, facets and full-text entries in the same"
          f" transaction) in {time.perf_counter() - start:.1f} s", flush=True)


def timed(action: Any, repeat: int) -> tuple[list[float], list[float], Any]:
    """Wall-clock and CPU milliseconds of each run (CPU: this process alone, the part a
    busy shared machine does not inflate), and the last result."""
    times, cpu, last = [], [], None
    for item in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        last = action(item)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return times, cpu, last


def main() -> None:  # noqa: PLR0915 - one table, row by row
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--store", type=Path, default=None,
                        help="keep the store here and reuse it (built if missing)")
    args = parser.parse_args()
    vocabulary = [w for w in catalog_words() if len(w) > 3]
    rng = random.Random(5)  # noqa: S311
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Config(data_dir=args.store or Path(tmp) / "coord"))
        if store.exists():
            store.unlock(PASSPHRASE)  # runs any migration the kept store has not seen
            conn = store.connect()
            kept = conn.execute("SELECT count(*) FROM report_heads").fetchone()[0]
            conn.close()
            print(f"reusing the store in {args.store}: {kept} reports", flush=True)
            args.reports = kept
        else:
            store.create(PASSPHRASE, "coordinator")
            conn = store.connect()
            keyring.initialise(conn, "coordinator")
            conn.close()
            build(store, args.reports, vocabulary)
        store.lock()
        # The unlock tries both slots of the key file whatever the passphrase (constant
        # work: the duress slot or a decoy): "the KDF" is both unwraps.
        slots = keyfile.parse(store.config.key_file.read_bytes(), KDF_PROFILE).slots
        kdfs, unlocks = [], []
        for _round in range(3):  # alternate, so both see the same machine load
            start = time.perf_counter()
            for slot in slots:
                with contextlib.suppress(WrongPassphrase):
                    keywrap.unwrap_key(slot.blob, PASSPHRASE)
            kdfs.append(time.perf_counter() - start)
            start = time.perf_counter()
            store.unlock(PASSPHRASE)
            unlocks.append(time.perf_counter() - start)
            store.lock()
        store.unlock(PASSPHRASE)
        kdf, unlock = statistics.median(kdfs), statistics.median(unlocks)
        size = (store.config.db_file.stat().st_size) / (1 << 20)
        print(f"store {size:.0f} MiB; unlock {unlock * 1000:.0f} ms, the KDF alone "
              f"(both key slots) {kdf * 1000:.0f} ms (medians of 3; beyond the KDF: "
              f"{(unlock - kdf) * 1000:.0f} ms)\n")

        app = create_operator_app(store.config, store, {"TESTING": True})
        client = app.test_client()
        client.get("/reports")
        pages = max(1, args.reports // listing.PAGE_SIZE)
        conn = store.connect()

        def page_of(sort: str) -> Any:
            def run(_i: int) -> Any:
                number = rng.randint(1, pages)
                response = client.get(f"/reports?page={number}&sort={sort}")
                if response.status_code != 200:
                    raise SystemExit(f"list page answered {response.status_code}")
                return response
            return run

        def search(texts: list[str], combos: list[dict[str, Any]] | None = None) -> Any:
            def run(i: int) -> Any:
                chosen = review_filters.Filters(text=texts[i % len(texts)],
                                                **(combos[i % len(combos)] if combos else {}))
                return listing.page(conn, chosen, "coordinator")
            return run

        def like(words: list[str], combos: list[dict[str, Any]] | None = None) -> Any:
            def run(i: int) -> Any:
                sql = ("SELECT count(*) FROM report_heads h JOIN reports r ON"
                       " r.id = h.report_id AND r.revision = h.revision WHERE r.body LIKE ?")
                params: list[Any] = [f"%{words[i % len(words)]}%"]
                if combos:
                    combo = combos[i % len(combos)]
                    sql += (" AND h.region IN (?, ?) AND EXISTS (SELECT 1 FROM"
                            " json_each(r.body, '$.acts') WHERE value = ?) AND"
                            " h.occurred_end >= ? AND h.occurred_start <= ?")
                    params += [*combo["regions"], combo["acts"][0], combo["date_from"],
                               combo["date_to"]]
                return conn.execute(sql, params).fetchone()
            return run

        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          client.get("/reports").get_data(as_text=True))

        def saved(text: str) -> str:
            """The list page of a search, as the browser reaches it (POST, then its id)."""
            answer = client.post("/reports/search",
                                 data={"q": text, "csrf_token": token.group(1) if token else ""})
            if answer.status_code != 303:
                raise SystemExit(f"the search form answered {answer.status_code}")
            return answer.headers["Location"]

        def search_page(texts: list[str]) -> Any:
            urls = [saved(text) for text in texts]

            def run(i: int) -> Any:
                response = client.get(urls[i % len(urls)])
                if response.status_code != 200:
                    raise SystemExit(f"search page answered {response.status_code}")
                return response
            return run

        common = [rng.choice(vocabulary) for _ in range(args.repeat)]
        prefixes = [w[:4] for w in common]
        cyrillic = [rng.choice(NAMES)[0] for _ in range(args.repeat)]
        latin = [rng.choice(NAMES)[1] for _ in range(args.repeat)]
        # A different combination each time (two regions, an act, a year), so that no
        # query is only ever timed with its pages already in the cache.
        combos = []
        for _n in range(args.repeat):
            year = rng.choice(("2024", "2025", "2026"))
            combos.append({"regions": tuple(rng.sample(REGIONS, 2)), "acts": (rng.choice(ACTS),),
                           "date_from": f"{year}-01-01", "date_to": f"{year}-12-31"})
        rows = [
            ("list page, updated (HTTP)", page_of("updated"), None),
            ("list page, occurred (HTTP)", page_of("occurred"), None),
            ("list page, received (HTTP)", page_of("received"), None),
            ("search page, one word (HTTP)", search_page(common), None),
            ("search: one word", search(common), like(common)),
            ("search: prefix", search(prefixes), like(prefixes)),
            ("search: name, Cyrillic", search(cyrillic), like(cyrillic)),
            ("search: name, transliterated", search(latin), like(latin)),
            ("filters: 2 regions+act+year", search([""], combos), like([""], combos)),
            ("filters + one word", search(common, combos), like(common, combos)),
        ]
        print(f"{'what':<30} {'p50':>7} {'p95':>7} {'cpu p50':>7} {'found':>7}   "
              f"{'LIKE p50':>8} {'p95':>7} {'found':>7}")  # fmt: skip
        for name, action, baseline in rows:
            times, cpu, last = timed(action, args.repeat)
            found = last.total if isinstance(last, listing.Page) else ""
            line = (f"{name:<30} {statistics.median(times):7.1f} {_p95(times):7.1f}"
                    f" {statistics.median(cpu):7.1f} {found!s:>7}")
            if baseline is not None:
                like_times, _cpu, like_last = timed(baseline, max(3, args.repeat // 5))
                line += (f"   {statistics.median(like_times):8.1f} {_p95(like_times):7.1f}"
                         f" {like_last[0]:>7}")
            print(line, flush=True)
        print("\nmilliseconds (cpu: this process's CPU time, which a busy shared machine does"
              " not inflate);\nfound = total matches of the last query (the page shows 50);"
              "\nLIKE: a scan of every latest body for the first word, case-sensitive beyond"
              " ASCII,\nno transliteration (so it finds fewer), fewer repeats; the same"
              " filters.")
        conn.close()
        store.lock()


if __name__ == "__main__":
    main()
