"""The coordinator workbench (issue 12): filters, pages, search on the list, triage, device
trust, hostile custody, the migration of an older store."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from app.cli.main import main
from app.config import Config
from app.exchange.importer import ImportRefused, import_bundle
from app.records import reports
from app.review import filters as review_filters
from app.review import listing, triage
from app.store import keyring, migrations
from app.store.store import Store
from app.web.factory import create_operator_app
from crypto import keys
from crypto.bundle import BundleEntry, seal_bundle
from crypto.device import DeviceKey
from tests.conftest import PASSPHRASE, csrf_token, report_form

BODY: dict[str, Any] = {
    "title": "", "description": "", "occurred_on": "", "occurred_precision": "day",
    "ended_on": "", "region": "unknown", "place": "", "abroad_country": "", "rights": [],
    "acts": [], "victims": [], "perpetrators": [], "legal": [], "sources": [], "links": "",
    "sensitivity": "normal", "may_publish": False, "withhold_names": True, "contact": "",
}


def body(**fields: Any) -> dict[str, Any]:
    return {**BODY, **fields}


class Coordinator:
    """A coordinator store in this process, and devices that send it bundles."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.store = Store(Config(data_dir=tmp_path / "coord", default_locale="en"))
        self.store.create(PASSPHRASE, "coordinator")
        conn = self.store.connect()
        self.recipient = keys.parse_recipient(keyring.initialise(conn, "coordinator"))
        conn.close()
        self.sequence: dict[bytes, int] = {}
        self.count = 0

    def send(self, device: DeviceKey, items: list[dict[str, Any]],
             custody: list[dict[str, Any]] | None = None) -> list[str]:
        """One bundle from ``device`` with a report per body; returns the report ids."""
        documents, ids = {}, []
        for item in items:
            self.count += 1
            report_id = hashlib.sha256(f"{self.count}".encode()).hexdigest()[:32]
            ids.append(report_id)
            report = {"id": report_id, "revision": 1, "origin": item.pop("origin", "operator"),
                      "created_at": "2026-01-12T00:00:00Z",
                      "updated_at": f"2026-01-12T00:00:{self.count % 60:02d}Z",
                      "body": body(**item)}
            documents[f"report-{report_id}.json"] = json.dumps(
                {"report": report, "attachments": [], "custody": custody or []}).encode()
        entries = [BundleEntry(name, len(raw), hashlib.sha256(raw).digest(),
                               lambda r=raw: iter([r])) for name, raw in documents.items()]
        key = device.public_bytes()
        self.sequence[key] = self.sequence.get(key, 0) + 1
        path = self.tmp / f"b{self.count}.age"
        with open(path, "wb") as fh:
            seal_bundle(fh, [self.recipient], device, self.sequence[key], entries,
                        {"kind": "kuager-field-export", "store": "real"})
        import_bundle(self.store, path)
        return ids

    def conn(self):  # type: ignore[no-untyped-def]
        return self.store.connect()

    def client(self) -> FlaskClient:
        app = create_operator_app(self.store.config, self.store, {"TESTING": True})
        return app.test_client()

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(main, [*args, "--data", str(self.store.config.data_dir)],
                                  input=PASSPHRASE + "\n")

    def listed(self, *args: str) -> list[dict[str, Any]]:
        result = self.cli("reports", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def coord(tmp_path: Path) -> Coordinator:
    return Coordinator(tmp_path)


def titles(rows: list[dict[str, Any]]) -> set[str]:
    return {row["title"] for row in rows}


# -- filters --------------------------------------------------------------------------------


@pytest.fixture
def sample(coord: Coordinator) -> Coordinator:
    first, second = DeviceKey.generate(), DeviceKey.generate()
    coord.send(first, [
        dict(title="Raid", region="astana", rights=["expression"], acts=["search_raid"],
             perpetrators=[{"kind": "knb", "name": "КНБ"}],
             victims=[{"name": "Айгүл", "role": "journalist", "consent": True,
                       "may_name": False}], occurred_on="2026-03", occurred_precision="month"),
        dict(title="Picket", region="almaty_city", rights=["assembly"], acts=["fine"],
             perpetrators=[{"kind": "police", "name": ""}], sensitivity="critical",
             victims=[{"name": "Қайрат", "role": "activist", "consent": True,
                       "may_name": True}], occurred_on="2026-01-12"),
        dict(title="Old case", region="almaty_city", acts=["conviction"], occurred_on="2025",
             occurred_precision="year", origin="public"),
    ])
    coord.send(second, [dict(title="Undated", region="abai", occurred_precision="unknown")])
    conn = coord.conn()
    triage.confirm_device(conn, first.fingerprint())
    conn.close()
    return coord


@pytest.mark.parametrize(("args", "expected"), [
    (["--region", "astana"], {"Raid"}),
    (["--region", "astana", "--region", "abai"], {"Raid", "Undated"}),
    (["--right", "assembly"], {"Picket"}),
    (["--act", "fine", "--act", "conviction"], {"Picket", "Old case"}),
    (["--perpetrator", "knb"], {"Raid"}),
    (["--victim-role", "activist"], {"Picket"}),
    (["--sensitivity", "critical"], {"Picket"}),
    (["--origin", "public"], {"Old case"}),
    (["--origin", "field"], {"Raid", "Picket", "Undated"}),
    (["--status", "new"], {"Raid", "Picket", "Old case", "Undated"}),
    (["--region", "almaty_city", "--act", "fine"], {"Picket"}),
    # dates overlap, with their precision: "March 2026" is inside 2026-03-15..2026-03-15
    (["--from", "2026-03-15", "--to", "2026-03-15"], {"Raid"}),
    (["--from", "2026-03-31"], {"Raid"}),
    (["--to", "2026-02-28"], {"Picket", "Old case"}),
    (["--from", "2025-06-01", "--to", "2025-06-30"], {"Old case"}),
    (["--from", "2026-04-01"], set()),
])
def test_each_filter(sample: Coordinator, args: list[str], expected: set[str]) -> None:
    assert titles(sample.listed(*args)) == expected


def test_unknown_values_are_ignored_with_a_note(sample: Coordinator) -> None:
    result = sample.cli("reports", "list", "--json", "--region", "atlantis", "--region",
                        "astana", "--from", "2026-02-30")
    assert result.exit_code == 0
    assert titles([json.loads(line) for line in result.stdout.splitlines()]) == {"Raid"}
    assert "note: Unknown value ignored: region = atlantis" in result.stderr
    assert "note: A date was ignored" in result.stderr


def test_device_filter_and_confirmed_only(sample: Coordinator) -> None:
    devices = [json.loads(line) for line in sample.cli("devices", "list", "--json").stdout
               .splitlines()]
    devices.sort(key=lambda d: not d["confirmed"])
    assert [d["confirmed"] for d in devices] == [True, False]
    assert set(devices[0]) >= {"fingerprint", "confirmed", "first_seen", "bundles", "reports"}
    assert (devices[0]["bundles"], devices[0]["reports"]) == (1, 3)
    assert titles(sample.listed("--device", devices[1]["fingerprint"])) == {"Undated"}
    assert titles(sample.listed("--device", devices[1]["fingerprint"].replace(" ", ""))) == {
        "Undated"}
    assert titles(sample.listed("--confirmed-only")) == {"Raid", "Picket", "Old case"}
    unknown = sample.cli("reports", "list", "--json", "--device", "1" * 30)
    assert unknown.stdout == "" and "No device has this fingerprint" in unknown.stderr


def test_json_carries_status_tags_device(sample: Coordinator) -> None:
    rows = {row["title"]: row for row in sample.listed()}
    assert rows["Raid"]["status"] == "new" and rows["Raid"]["tags"] == []
    assert rows["Raid"]["device_confirmed"] is True
    assert rows["Undated"]["device_confirmed"] is False
    assert re.fullmatch(r"(\d{5} ){5}\d{5}", rows["Undated"]["device"])
    for name in ("id", "title", "description", "occurred_on", "region", "rights", "acts",
                 "attachments"):
        assert name in rows["Raid"]


def test_limit_and_stable_order(sample: Coordinator) -> None:
    every = [row["id"] for row in sample.listed()]
    assert len(every) == 4 and every == [row["id"] for row in sample.listed()]
    assert [row["id"] for row in sample.listed("--limit", "2")] == every[:2]


# -- triage ---------------------------------------------------------------------------------


def test_status_and_tags_from_the_cli(sample: Coordinator) -> None:
    raid = next(row for row in sample.listed() if row["title"] == "Raid")
    done = sample.cli("reports", "status", raid["id"], "in_review")
    assert done.exit_code == 0, done.output
    assert sample.cli("reports", "status", raid["id"], "closed").exit_code == 1
    assert sample.cli("reports", "tag", raid["id"], "Арест").exit_code == 0
    assert "already tagged" in sample.cli("reports", "tag", raid["id"], "АРЕСТ").stdout
    assert titles(sample.listed("--tag", "арест")) == {"Raid"}
    assert titles(sample.listed("--status", "in_review")) == {"Raid"}
    listed = next(row for row in sample.listed() if row["title"] == "Raid")
    assert listed["status"] == "in_review" and listed["tags"] == ["Арест"]
    assert sample.cli("reports", "untag", raid["id"], "арест").exit_code == 0
    assert sample.listed("--tag", "арест") == []
    conn = sample.conn()
    events = [(r[0], r[1]) for r in conn.execute(
        "SELECT event, detail FROM custody WHERE report_id = ? AND event = 'status'",
        (raid["id"],))]
    conn.close()
    assert events == [("status", "new -> in_review")]
    missing = sample.cli("reports", "status", "f" * 32, "verified")
    assert missing.exit_code == 1 and missing.stderr.startswith("error:")


def test_triage_needs_a_coordinator_store(tmp_path: Path) -> None:
    data = tmp_path / "field"
    assert CliRunner().invoke(main, ["init", "--role", "field", "--data", str(data)],
                              input=PASSPHRASE + "\n").exit_code == 0
    result = CliRunner().invoke(main, ["reports", "status", "a" * 32, "new", "--data",
                                       str(data)], input=PASSPHRASE + "\n")
    assert result.exit_code == 1 and "coordinator store" in result.stderr


def test_triage_on_the_report_page(sample: Coordinator) -> None:
    client = sample.client()
    raid = next(row for row in sample.listed() if row["title"] == "Raid")
    page = f"/reports/{raid['id']}"
    token = csrf_token(client, page)
    assert client.post(page + "/status", data={"status": "verified", "csrf_token": token}
                       ).status_code == 303
    client.post(page + "/tags", data={"tag": "Жаңаөзен", "csrf_token": token})
    client.post(page + "/notes", data={"note": "Позвонить адвокату", "csrf_token": token})
    shown = client.get(page).get_data(as_text=True)
    assert "Verified" in shown and "Жаңаөзен" in shown and "Позвонить адвокату" in shown
    conn = sample.conn()
    assert conn.execute("SELECT text FROM report_notes").fetchone()[0] == "Позвонить адвокату"
    conn.close()
    assert client.post(page + "/status", data={"status": "verified"}).status_code == 400


# -- devices and custody ----------------------------------------------------------------------


def test_device_confirmation_on_the_web(coord: Coordinator) -> None:
    coord.send(DeviceKey.generate(), [dict(title="From a stranger", region="astana")])
    client = coord.client()
    listing_page = client.get("/reports").get_data(as_text=True)
    assert "Device not confirmed" in listing_page
    page = client.get("/devices").get_data(as_text=True)
    device_id = re.search(r'name="device" value="([0-9a-f]{32})"', page).group(1)
    # "First seen" in local time and the page's language, not a raw UTC stamp.
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", page)
    assert re.search(r"<td>[A-Z][a-z]+ \d{1,2}, \d{4}, \d{1,2}:\d\d\s[AP]M</td>", page)
    token = csrf_token(client, "/devices")
    assert client.post("/devices/confirm", data={"device": device_id, "confirm": "1",
                                                  "csrf_token": token}).status_code == 303
    assert "Device not confirmed" not in client.get("/reports").get_data(as_text=True)
    assert coord.listed()[0]["device_confirmed"] is True


def test_custody_naming_another_device_is_refused(coord: Coordinator) -> None:
    """A hostile device writes that another device created the report: refused, nothing
    stored."""
    honest, hostile = DeviceKey.generate(), DeviceKey.generate()
    coord.send(honest, [dict(title="Honest")])
    with pytest.raises(ImportRefused, match="names another device"):
        coord.send(hostile, [dict(title="Forged")],
                   custody=[{"at": "2026-01-01T00:00:00Z", "event": "created",
                             "device": honest.device_id, "detail": "operator"}])
    assert titles(coord.listed()) == {"Honest"}


def test_custody_events_are_shown_as_the_senders_claims(coord: Coordinator) -> None:
    device = DeviceKey.generate()
    (report_id,) = coord.send(device, [dict(title="Claimed")], custody=[
        {"at": "2026-01-01T00:00:00Z", "event": "created", "device": device.device_id,
         "detail": "operator"},
        {"at": "2026-01-02T00:00:00Z", "event": "edited", "device": "", "detail": ""}])
    conn = coord.conn()
    rows = conn.execute("SELECT event, claimed_by FROM custody WHERE report_id = ? ORDER BY"
                        " seq", (report_id,)).fetchall()
    conn.close()
    assert [tuple(r) for r in rows] == [("created", device.device_id),
                                        ("edited", device.device_id), ("imported", "")]
    page = coord.client().get(f"/reports/{report_id}").get_data(as_text=True)
    assert page.count("as claimed by device") == 2


# -- the list page ----------------------------------------------------------------------------


def field_reports(store: Store, count: int, **fields: Any) -> None:
    conn = store.connect()
    for number in range(count):
        reports.create(conn, body(title=f"Report {number:03d}", **fields))
    conn.commit()
    conn.close()


@pytest.mark.parametrize(("count", "page", "shown", "first"), [
    (0, 1, 0, None), (1, 1, 1, None), (50, 1, 50, None), (51, 1, 50, "Next"),
    (51, 2, 1, "Previous"), (120, 3, 20, "Previous"), (120, 99, 20, "Previous"),
])
def test_pagination_edges(field_store: Store, client: FlaskClient, *, count: int, page: int,
                          shown: int, first: str | None) -> None:
    field_reports(field_store, count)
    html = client.get(f"/reports?page={page}").get_data(as_text=True)
    assert html.count('<li class="') == shown
    if count > 50:
        assert f"of {count}" in html and first in html
    elif count:
        assert f"{count} report" in html and "Next" not in html
    else:
        assert "No reports yet." in html


def test_pages_cover_every_report_once_in_a_stable_order(field_store: Store) -> None:
    field_reports(field_store, 120)
    conn = field_store.connect()
    seen = []
    for number in (1, 2, 3):
        seen += [row["id"] for row in listing.page(conn, review_filters.Filters(), "field",
                                                   number=number).rows]
    conn.close()
    assert len(seen) == len(set(seen)) == 120


def test_search_posts_and_redirects_to_an_opaque_id(field_store: Store,
                                                    client: FlaskClient) -> None:
    field_reports(field_store, 3, description="Айгүл ұсталды")
    field_reports(field_store, 1, description="Қайрат")
    token = csrf_token(client, "/reports")
    answer = client.post("/reports/search", data={"q": "Aigul", "csrf_token": token})
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert re.fullmatch(r"/reports\?f=[A-Za-z0-9_-]+", location)
    page = client.get(location).get_data(as_text=True)
    assert "3 reports" in page and "<mark>Айгүл</mark>" in page
    assert "Aigul" not in page.split("</title>")[0]
    other = create_operator_app(field_store.config, field_store, {"TESTING": True})
    stranger = other.test_client().get(location).get_data(as_text=True)
    assert "expired" in stranger and "4 reports" in stranger


def test_nothing_matched_is_not_an_empty_store(field_store: Store, client: FlaskClient) -> None:
    field_reports(field_store, 2)
    token = csrf_token(client, "/reports")
    page = client.post("/reports/search", data={"q": "zzzqqq", "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "No report matches these filters." in page and "No reports yet" not in page
    assert "Clear the filters" in page


@pytest.mark.parametrize("text", ['"', "NEAR(a b)", "*", "(", ")", "-", "a OR", "title:x",
                                  '"unclosed', "^x", "AND", "\x00", "x" * 10_000])
def test_hostile_queries_never_fail(field_store: Store, client: FlaskClient, text: str) -> None:
    field_reports(field_store, 1)
    token = csrf_token(client, "/reports")
    page = client.post("/reports/search", data={"q": text, "csrf_token": token},
                       follow_redirects=True)
    assert page.status_code == 200
    if len(text) == 10_000:
        assert "The search is too long" in page.get_data(as_text=True)


def test_unknown_filter_values_on_the_web(field_store: Store, client: FlaskClient) -> None:
    field_reports(field_store, 1)
    token = csrf_token(client, "/reports")
    page = client.post("/reports/search", data={"region": "mars", "csrf_token": token},
                       follow_redirects=True)
    assert page.status_code == 200
    assert "Unknown value ignored: region = mars" in page.get_data(as_text=True)


def test_urgent_reports_stand_out(field_store: Store, client: FlaskClient) -> None:
    field_reports(field_store, 1, sensitivity="critical")
    field_reports(field_store, 1)
    page = client.get("/reports").get_data(as_text=True)
    assert page.count('class="urgent') == 1 and "Urgent: life or liberty at stake" in page


@pytest.mark.parametrize(("written", "query"), [
    ("Жаңаөзен", "Zhanaozen"), ("Жаңаөзен", "Janaözen"), ("Zhanaozen", "Жаңаөзен"),
    ("Айгүл", "Aigul"), ("Қайрат", "Kairat"), ("Жанна", "Zhanna"), ("Евгений", "Yevgeny"),
    ("Евгений", "Evgeniy"), ("Алматы", "алматы"), ("Задержание", "задержание"),
    ("Жаңаөзенде", "Жаңа"),
])
def test_search_variants_in_the_list(field_store: Store, written: str, query: str) -> None:
    conn = field_store.connect()
    reports.create(conn, body(title="A", victims=[{"name": written, "role": "other",
                                                   "consent": True, "may_name": False}]))
    reports.create(conn, body(title="B", description="nothing here"))
    conn.commit()
    found = listing.page(conn, review_filters.Filters(text=query), "field")
    conn.close()
    assert [row["title"] for row in found.rows] == ["A"]


def test_index_follows_edits_and_deletes(field_store: Store) -> None:
    conn = field_store.connect()
    report_id = reports.create(conn, body(title="Before", description="первое"))
    conn.commit()
    search = review_filters.Filters(text="первое")
    assert listing.count(conn, search, "field") == 1
    reports.update(conn, report_id, body(title="After", description="второе"))
    conn.commit()
    assert listing.count(conn, search, "field") == 0
    assert listing.count(conn, review_filters.Filters(text="второе"), "field") == 1
    reports.delete(conn, field_store.config, [report_id])
    assert conn.execute("SELECT count(*) FROM report_search_ids").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM report_heads").fetchone()[0] == 0
    conn.close()


# -- duplicates, intake, migration ------------------------------------------------------------


def test_possible_duplicates_link_and_dismiss(coord: Coordinator) -> None:
    text = "Активистку Айгүл задержали у акимата Жаңаөзена во время пикета"
    (a,) = coord.send(DeviceKey.generate(), [dict(title="Пикет", description=text,
                                                  region="mangystau", occurred_on="2026-01-12")])
    (b,) = coord.send(DeviceKey.generate(), [dict(title="Пикет в Жанаозене",
                                                  description=text + ", ей дали 10 суток",
                                                  region="mangystau", occurred_on="2026-01")])
    (c,) = coord.send(DeviceKey.generate(), [dict(title="Штраф", description="Оштрафовали "
                                                  "журналиста в Павлодаре", region="pavlodar")])
    conn = coord.conn()
    found = triage.duplicates(conn, a)
    assert [d["id"] for d in found] == [b] and found[0]["score"] >= triage.THRESHOLD
    triage.decide_duplicate(conn, a, b, "same")
    assert triage.duplicates(conn, b)[0]["linked"] is True
    triage.decide_duplicate(conn, a, b, "dismissed")
    assert triage.duplicates(conn, a) == [] and c not in [d["id"] for d in found]
    conn.close()


def test_coordinator_intake(coord: Coordinator) -> None:
    client = coord.client()
    data = report_form(title="Звонок от матери", csrf_token=csrf_token(client, "/intake"))
    data["save"] = "1"
    answer = client.post("/intake", data=data)
    assert answer.status_code == 303
    rows = coord.listed("--origin", "coordinator")
    assert titles(rows) == {"Звонок от матери"}
    assert rows[0]["device"] is None and rows[0]["device_confirmed"] is None


def test_migration_builds_heads_and_the_index_for_an_older_store(tmp_path: Path,
                                                                monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = Store(Config(data_dir=tmp_path / "old", default_locale="en"))
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    store.create(PASSPHRASE, "field")
    conn = store.connect()
    for revision, title in ((1, "Старое"), (2, "Новое Жаңаөзен")):
        document = body(title=title, occurred_on="2026-03", occurred_precision="month",
                        acts=["fine"])
        conn.execute("INSERT INTO reports(id, revision, created_at, updated_at, title,"
                     " occurred_on, region, body, content_sha256) VALUES (?,?,?,?,?,?,?,?,?)",
                     ("c" * 32, revision, "2026-01-01", "2026-01-0" + str(revision), title,
                      "2026-03", "unknown", reports.canonical_json(document), str(revision)))
    conn.commit()
    conn.close()
    store.lock()
    monkeypatch.undo()
    store.unlock(PASSPHRASE)
    conn = store.connect()
    head = conn.execute("SELECT revision, occurred_start, occurred_end FROM report_heads"
                        ).fetchall()
    assert [tuple(r) for r in head] == [(2, "2026-03-01", "2026-03-31")]
    assert listing.count(conn, review_filters.Filters(acts=("fine",)), "field") == 1
    assert listing.count(conn, review_filters.Filters(text="Zhanaozen"), "field") == 1
    assert listing.count(conn, review_filters.Filters(text="Старое"), "field") == 0
    conn.close()
