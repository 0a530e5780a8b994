"""Screenshots of the coordinator workbench for docs/REVIEW.md (``make review-screens``).

    .venv/bin/python docs/screens/review_screens.py [--out FOLDER]

Builds, in a temporary folder, a coordinator store and three field devices whose reports
are the training seed's fictional incidents (``app.records.seed.generate``: invented
people, ``.example`` sites), written through ``intake.save``, sealed with the real export
and read with the real import, as a coordinator's store is filled in life. Two devices are
confirmed, the third is not; a few reports get a status, tags, an urgent flag, and one
incident is sent by two devices (a possible duplicate). Then a real Chromium types into
the pages and the script saves ``review-*.png`` (``SHOTS``) into FOLDER (default: this
folder). The stores are thrown away afterwards; nothing is served beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _browser import SIZE, Browser, cheap_kdf, expect, serve

HERE = Path(__file__).resolve().parent
#: Every file this script writes, and its size (the list's filter form is tall: the pages
#: with a search show it whole, above the results).
SHOTS = {"review-list-en.png": SIZE, "review-search-en.png": (1024, 1040),
         "review-search-kk.png": (1024, 1040), "review-filters-ru.png": (1024, 1200),
         "review-report-en.png": (1024, 1300), "review-devices-en.png": SIZE}
#: The seed's fixed "today" and random seed: the same fictional reports every run.
TODAY = date(2026, 6, 1)
SEED = 12
#: Queries that cross scripts: Latin finds Cyrillic, Cyrillic finds Latin.
LATIN_QUERY = "Aigul"
CYRILLIC_QUERY = "Қайрат"


def _field_store(tmp: Path, name: str, coordinator_key: str):  # type: ignore[no-untyped-def]
    from app.config import Config
    from app.store import keyring
    from app.store.store import Store

    store = Store(Config(data_dir=tmp / name, default_locale="en"))
    store.create("throw-away field store", "field")
    conn = store.connect()
    keyring.initialise(conn, "field")
    keyring.add_recipient(conn, coordinator_key, "coordinator")
    conn.close()
    return store


def _write(store: Any, bodies: list[dict[str, Any]]) -> None:
    from app.records import intake

    conn = store.connect()
    try:
        for body in bodies:
            intake.save(conn, store.config, body, [])
    finally:
        conn.close()


def _bodies() -> list[list[dict[str, Any]]]:
    """The seed's reports shared out between three devices; on the first and the third
    device the most recent incident is urgent (so the list, newest first, shows both
    marks), and the third device also reports an incident the first one sent."""
    from app.records import seed

    made = [item.body for item in seed.generate(54, SEED, TODAY)]
    devices = [made[0:24], made[24:42], made[42:54]]
    for bodies in (devices[0], devices[2]):
        latest = max(range(len(bodies)), key=lambda i: bodies[i]["occurred_on"])
        bodies[latest] = {**bodies[latest], "sensitivity": "critical"}
    twice = dict(made[3])
    twice["description"] += " Соседи подтвердили."
    devices[2].append(twice)
    return devices


def build(tmp: Path):  # type: ignore[no-untyped-def]
    """The coordinator store, filled through export and import."""
    from app.config import Config
    from app.exchange.bundles import export_bundle, import_bundle
    from app.store import keyring
    from app.store.store import Store

    coordinator = Store(Config(data_dir=tmp / "coordinator", default_locale="en"))
    coordinator.create("throw-away coordinator store", "coordinator")
    conn = coordinator.connect()
    key = keyring.initialise(conn, "coordinator")
    conn.close()
    for number, bodies in enumerate(_bodies(), start=1):
        field = _field_store(tmp, f"field-{number}", key)
        _write(field, bodies)
        bundle = tmp / f"bundle-{number}.age"
        export_bundle(field, bundle)
        field.lock()
        import_bundle(coordinator, bundle)
    conn = coordinator.connect()
    try:
        _triage(conn)
    finally:
        conn.close()
    return coordinator


def _triage(conn: Any) -> None:
    from app.review import triage

    devices = triage.devices(conn)
    for device in devices[:2]:
        triage.confirm_device(conn, device["device_id"])
    ids = [row[0] for row in conn.execute(
        "SELECT report_id FROM report_heads ORDER BY updated_at DESC, report_id")]
    for report_id, status in zip(ids[:12], ("verified", "in_review", "needs_follow_up") * 4,
                                 strict=True):
        triage.set_status(conn, report_id, status)
    for report_id in ids[:30:4]:
        triage.add_tag(conn, report_id, "ст. 488")
    for report_id in ids[1:30:7]:
        triage.add_tag(conn, report_id, "брифинг")


def _search(browser: Browser, base: str, lang: str, query: str) -> str:
    browser.open(f"{base}/reports?lang={lang}")
    browser.type('input[name="q"]', query)
    return browser.submit('form.filters button[type="submit"]:not([name])')


def _unconfirmed_report(conn: Any) -> str:
    """A report from the unconfirmed device that has a possible duplicate (the incident
    both the first and the third device sent)."""
    from app.review import triage

    rows = conn.execute(
        "SELECT h.report_id FROM report_heads h JOIN devices d ON d.device_id = h.device"
        " WHERE d.confirmed = 0 ORDER BY h.updated_at DESC, h.report_id").fetchall()
    for (report_id,) in rows:
        if triage.duplicates(conn, report_id):
            return str(report_id)
    raise RuntimeError("no unconfirmed report has a possible duplicate")


def shot(browser: Browser, out: Path, name: str, scroll: str | None = None) -> None:
    browser.shot(out, name, scroll=scroll, size=SHOTS[name])


def take(browser: Browser, base: str, out: Path, store: Any) -> None:
    browser.open(f"{base}/reports?sort=occurred&lang=en")
    expect(browser.text("ul.reports"), "Device not confirmed", "Urgent: life or liberty at stake")
    shot(browser, out, "review-list-en.png", scroll="p.count")

    _search(browser, base, "en", LATIN_QUERY)
    expect(browser.source(), "<mark>Айгүл</mark>")
    shot(browser, out, "review-search-en.png")

    _search(browser, base, "kk", CYRILLIC_QUERY)
    expect(browser.source(), "<mark>Kairat</mark>")
    shot(browser, out, "review-search-kk.png")

    browser.open(f"{base}/reports?lang=ru")
    for css in ('select[name="region"] option[value="almaty_city"]',
                'select[name="region"] option[value="astana"]',
                'select[name="region"] option[value="shymkent"]',
                'select[name="region"] option[value="abai"]'):
        browser.choose(css)
    browser.type('input[name="from"]', "2023-01-01")
    browser.submit('form.filters button[type="submit"]:not([name])')
    expect(browser.text(), "Сбросить фильтры")
    shot(browser, out, "review-filters-ru.png")

    conn = store.connect()
    try:
        report = _unconfirmed_report(conn)
    finally:
        conn.close()
    browser.open(f"{base}/reports/{report}?lang=en")
    expect(browser.text(), "Device not confirmed", "not confirmed", "Same incident: link")
    shot(browser, out, "review-report-en.png")

    browser.open(f"{base}/devices?lang=en")
    expect(browser.text(), "The fingerprint matches: confirm", "Withdraw confirmation")
    shot(browser, out, "review-devices-en.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cheap_kdf()
    from app.web.factory import create_operator_app

    with tempfile.TemporaryDirectory(prefix="kuager-review-screens-") as tmp:
        store = build(Path(tmp))
        app = create_operator_app(store.config, store, {"KUAGER_DEFAULT_LOCALE": "en"})
        browser = Browser(Path(tmp))
        try:
            with serve(app) as base:
                take(browser, base, args.out, store)
        finally:
            browser.quit()
            store.lock()
    made = sorted(path.name for path in browser.written)
    if made != sorted(SHOTS):
        raise SystemExit(f"made {made}, expected {sorted(SHOTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
