"""``kuager stats`` and ``kuager table``: the CLI over the generated corpus.

Expected values come from what the corpus wrote (tests/review/corpus.py), never from the
store; the consent rule is checked person by person.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from app.cli.main import main
from app.review import stats, uwazi
from app.review.tables import COLUMNS
from tests.conftest import PASSPHRASE
from tests.review import corpus as corpus_module
from tests.review.corpus import Corpus, Written
from tests.review.test_stats import expected, in_scope

CONTACT = "reporter@example.org"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    from app.store import store as store_module
    from crypto import keywrap

    saved = store_module.KDF_PROFILE
    store_module.KDF_PROFILE = keywrap.TEST_PROFILE
    try:
        built = corpus_module.build(tmp_path_factory.mktemp("tables"), seed=21)
        corpus_module.confirm(built, "f1")
        corpus_module.reject(built, 4)
    finally:
        store_module.KDF_PROFILE = saved
    return built


def run(corpus: Corpus, *args: str) -> Result:
    data = str(corpus.coordinator.config.data_dir)
    return CliRunner().invoke(main, [args[0], "--data", data, *args[1:]],
                              input=PASSPHRASE + "\n", catch_exceptions=False)


def published(corpus: Corpus, *, all_reports: bool = False,
              unconfirmed: bool = False) -> dict[str, Written]:
    return {rid: r for rid, r in corpus.reports.items()
            if in_scope(corpus, r, unconfirmed=unconfirmed, rejected=False)
            and (all_reports or r.body["may_publish"])}


def read_csv(path: Path) -> tuple[list[list[str]], list[str], list[dict[str, str]]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV without a byte-order mark"
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    blank = lines.index([])
    block, header, rows = lines[:blank], lines[blank + 1], lines[blank + 2:]
    return block, header, [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def unneutralise(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] in ("=", "+", "-", "@", "\t",
                                                               "\r") else cell


# ------------------------------------------------------------------ stats on the CLI


@pytest.mark.parametrize("by", [["region"], ["act", "month"], ["victim_role"]])
@pytest.mark.parametrize("unit", ["reports", "people"])
def test_stats_json_lines_match_the_independent_count(corpus: Corpus, by: list[str],
                                                      unit: str) -> None:
    args = ["stats", *[x for name in by for x in ("--by", name)], "--count", unit, "--json"]
    result = run(corpus, *args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    got = {tuple(line[name] for name in by): line["count"] for line in lines}
    assert all(set(line) == {*by, "count"} for line in lines)
    assert got == dict(expected(corpus, tuple(by), people=unit == "people"))
    assert "left out" in result.stderr and "rejected" in result.stderr


def test_stats_include_flags(corpus: Corpus) -> None:
    result = run(corpus, "stats", "--by", "status", "--json", "--include-rejected",
                 "--include-unconfirmed")
    got = {line["status"]: line["count"] for line in map(json.loads, result.stdout.splitlines())}
    assert got == {k[0]: n for k, n in expected(corpus, ("status",), unconfirmed=True,
                                                rejected=True).items()}
    assert got.get("rejected") == 4
    assert "left out" not in result.stderr


@pytest.mark.parametrize("args", [["--by", "colour"], ["--by", "region", "--count", "cats"],
                                  [], ["--by", "region", "--by", "act", "--by", "year"]])
def test_stats_bad_usage_exits_2_with_usage(corpus: Corpus, args: list[str]) -> None:
    result = run(corpus, "stats", *args, "--json")
    assert result.exit_code == 2
    assert "Usage:" in result.output


def test_stats_human_output_is_labelled_in_the_chosen_language(corpus: Corpus) -> None:
    data = str(corpus.coordinator.config.data_dir)
    result = CliRunner().invoke(main, ["--lang", "kk", "stats", "--data", data, "--by",
                                       "region", "--include-unconfirmed"],
                                input=PASSPHRASE + "\n")
    assert result.exit_code == 0, result.output
    regions = {r.body["region"] for r in corpus.reports.values()}
    if "almaty_city" in regions:
        assert "Алматы қаласы" in result.stdout


# ------------------------------------------------------------------ tables


def test_csv_has_one_row_per_publishable_report_with_consent_enforced(
        corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "table.csv"
    result = run(corpus, "table", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "plaintext" in result.stderr
    block, header, rows = read_csv(out)
    assert len(header) == len(COLUMNS)
    assert any("Only reports that may be published" in line[0] for line in block)
    assert any("name withheld" in line[0] for line in block)  # the consent rule
    assert any("Left out" in line[0] for line in block)
    want = published(corpus)
    assert {row["id"] for row in rows} == set(want) and len(rows) == len(want)
    assert CONTACT not in out.read_text(encoding="utf-8-sig")
    for row in rows:
        report = want[row["id"]]
        body = report.body
        people = unneutralise(row["victims"])
        for person in body["victims"]:
            name = person["name"].strip()
            if not name:
                continue
            allowed = person["may_name"] and not body["withhold_names"]
            if allowed:
                assert name in people, (name, people)
        withheld = {p["name"] for p in body["victims"]
                    if p["name"] and not (p["may_name"] and not body["withhold_names"])}
        shown = {p["name"] for p in body["victims"]
                 if p["name"] and p["may_name"] and not body["withhold_names"]}
        for name in withheld - shown:
            for column in ("victims", "title", "description", "place"):
                assert name.casefold() not in row[column].casefold(), (name, column)
        assert row["region_code"] == body["region"]
        assert row["acts_code"].split("; ") == (body["acts"] or [""])
        assert unneutralise(row["occurred_on"]) == body["occurred_on"]


def test_csv_cells_never_start_a_formula(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    assert run(corpus, "table", "--format", "csv", "--out", str(out),
               "--all-reports").exit_code == 0
    _block, _header, rows = read_csv(out)
    cells = [cell for row in rows for cell in row.values()]
    assert any(cell.startswith("'=") for cell in cells)
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_kazakh_letters_and_rtl_marks_survive_every_format(corpus: Corpus,
                                                           tmp_path: Path) -> None:
    names = {p["name"] for r in published(corpus, all_reports=True, unconfirmed=True).values()
             for p in r.body["victims"]
             if p["name"] and p["may_name"] and not r.body["withhold_names"]}
    rtl = next(n for n in corpus_module.KAZAKH_NAMES if "\u200f" in n)
    assert rtl in names and "Айгүл Сәрсенбаева" in names
    for fmt in ("csv", "json", "uwazi", "xlsx"):
        out = tmp_path / f"t.{fmt}"
        assert run(corpus, "table", "--format", fmt, "--out", str(out), "--all-reports",
                   "--include-unconfirmed").exit_code == 0
        if fmt == "xlsx":
            with zipfile.ZipFile(out) as book:
                text = book.read("xl/worksheets/sheet1.xml").decode()
        else:
            text = out.read_text(encoding="utf-8-sig")
            if fmt == "json":
                text = "\n".join(json.dumps(json.loads(line), ensure_ascii=False)
                                 for line in text.splitlines())
        for name in (rtl, "Айгүл Сәрсенбаева"):
            assert name in text, (fmt, name)
        assert CONTACT not in text


def test_xlsx_frozen_header_autofilter_and_no_formula(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    result = run(corpus, "table", "--format", "xlsx", "--out", str(out), "--all-reports")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r'<pane [^>]*ySplit="\d+"[^>]*state="frozen"', sheet)
    assert "<autoFilter " in sheet
    assert "<f>" not in sheet and "<f " not in sheet
    assert "=HYPERLINK" in sheet  # kept as text, in an inline string
    assert not list(tmp_path.glob(".*part*")), "temporary files left behind"


def test_json_lines_first_line_says_what_made_the_file(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    assert run(corpus, "table", "--format", "json", "--out", str(out)).exit_code == 0
    first, *rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert first["meta"]["publication_only"] is True
    assert "name withheld" in first["meta"]["consent_rule"]
    assert {row["id"] for row in rows} == set(published(corpus))
    assert all("contact" not in row for row in rows)


def test_all_reports_includes_the_internal_ones(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    assert run(corpus, "table", "--format", "json", "--out", str(out),
               "--all-reports").exit_code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()[1:]]
    assert {row["id"] for row in rows} == set(published(corpus, all_reports=True))
    assert len(published(corpus, all_reports=True)) > len(published(corpus))


def test_out_never_replaces_a_file(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "existing.csv"
    out.write_text("keep me", encoding="utf-8")
    for fmt in ("csv", "xlsx", "json", "uwazi"):
        result = run(corpus, "table", "--format", fmt, "--out", str(out))
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
        assert out.read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.csv"]


def test_unknown_format_exits_2(corpus: Corpus, tmp_path: Path) -> None:
    result = run(corpus, "table", "--format", "pdf", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2 and "Usage:" in result.output


def test_empty_result_is_a_header_only(tmp_path: Path) -> None:
    store = corpus_module._store(tmp_path / "empty", "coordinator")
    store.lock()
    empty = Corpus(store)
    for fmt in ("csv", "json", "uwazi", "xlsx"):
        out = tmp_path / f"t.{fmt}"
        result = run(empty, "table", "--format", fmt, "--out", str(out))
        assert result.exit_code == 0, result.output
        if fmt == "csv":
            _block, header, rows = read_csv(out)
            assert rows == [] and len(header) == len(COLUMNS)
        elif fmt == "json":
            assert len(out.read_text(encoding="utf-8").splitlines()) == 1
        elif fmt == "uwazi":
            assert out.read_text(encoding="utf-8").splitlines() == [
                ",".join(name for name, _ in uwazi.COLUMNS)]


def test_labels_in_the_chosen_language_with_codes_beside(corpus: Corpus,
                                                         tmp_path: Path) -> None:
    for lang, almaty in (("kk", "Алматы қаласы"), ("ru", "город Алматы"),
                         ("en", "Almaty (city)")):
        out = tmp_path / f"{lang}.csv"
        assert run(corpus, "table", "--format", "csv", "--out", str(out), "--lang", lang,
                   "--all-reports").exit_code == 0
        _block, _header, rows = read_csv(out)
        for row in rows:
            if row["region_code"] == "almaty_city":
                assert row["region"] == almaty
        if lang != "en":
            assert "name withheld" not in out.read_text(encoding="utf-8-sig")


def test_uwazi_csv_columns_labels_and_pipes(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "uwazi.csv"
    assert run(corpus, "table", "--format", "uwazi", "--out", str(out)).exit_code == 0
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # Uwazi reads the first line as names
    reader = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert reader and set(reader[0]) == {name for name, _ in uwazi.COLUMNS}
    want = published(corpus)
    assert {row["kuager_id"] for row in reader} == set(want)
    for row in reader:
        body: dict[str, Any] = want[row["kuager_id"]].body
        assert len(row["acts"].split("|") if row["acts"] else []) == len(body["acts"])
        kinds = {p["kind"] for p in body["perpetrators"] if p["kind"]}
        assert len(row["perpetrators"].split("|") if row["perpetrators"] else []) == len(kinds)
        assert row["title"]
        if body["occurred_on"]:
            assert re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", row["date_of_incident"])
        assert int(row["number_of_people"]) == len(body["victims"])


def test_stats_module_and_cli_agree(corpus: Corpus) -> None:
    conn = corpus.coordinator.connect()
    direct = stats.count(conn, ["perpetrator", "year"]).as_dicts()
    result = run(corpus, "stats", "--by", "perpetrator", "--by", "year", "--json")
    assert [json.loads(line) for line in result.stdout.splitlines()] == direct


def test_filters_on_the_command_line_and_in_the_header_block(corpus: Corpus,
                                                             tmp_path: Path) -> None:
    result = run(corpus, "stats", "--by", "region", "--region", "almaty_city", "--region",
                 "astana", "--json", "--include-unconfirmed")
    assert result.exit_code == 0, result.output
    got = {line["region"]: line["count"] for line in map(json.loads, result.stdout.splitlines())}
    want = {k[0]: n for k, n in expected(corpus, ("region",), unconfirmed=True).items()
            if k[0] in ("almaty_city", "astana")}
    assert got == want
    out = tmp_path / "tagged.csv"
    assert run(corpus, "table", "--format", "csv", "--out", str(out), "--tag",
               "ЖАҢАӨЗЕН-2025", "--all-reports", "--include-unconfirmed").exit_code == 0
    block, _header, rows = read_csv(out)
    assert any("--tag ЖАҢАӨЗЕН-2025" in line[0] for line in block)
    tagged = {rid for rid, r in published(corpus, all_reports=True, unconfirmed=True).items()
              if r.tags}
    assert tagged and {row["id"] for row in rows} == tagged
    assert all(row["tags"] == "Жаңаөзен-2025" for row in rows)
    statuses = {row["status_code"] for row in rows}
    assert statuses <= {"new", "verified", "in_review"}


def test_xlsx_temporary_files_stay_in_the_target_folder(corpus: Corpus, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """xlsxwriter's constant_memory rows go to temporary files: never the system's folder
    (a tmpfs or a disk nobody thinks of wiping), only next to the table itself."""
    import tempfile

    folders: list[str | None] = []
    real = tempfile.mkstemp

    def recording(*args: Any, **kwargs: Any) -> Any:
        folders.append(kwargs.get("dir"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", recording)
    out = tmp_path / "usb" / "t.xlsx"
    out.parent.mkdir()
    assert run(corpus, "table", "--format", "xlsx", "--out", str(out)).exit_code == 0
    assert folders and set(folders) == {str(out.parent)}
    assert sorted(p.name for p in out.parent.iterdir()) == ["t.xlsx"]


ODD_BODY = {
    # shapes no check lets in today, as a store written before the checks can hold them
    "title": ["not", "text"], "description": 7, "occurred_on": True, "region": None,
    "place": {"x": 1}, "rights": "expression", "acts": ["fine", 3, None, ""],
    "sources": [["witness"]], "sensitivity": False, "may_publish": True,
    "legal": [{"code": True, "article": 274}, "art. 1", {"code": ["x"]}],
    "perpetrators": ["police", {"kind": 3, "name": {"n": 1}}, {"kind": "police", "name": "Сержант"}],
    "victims": ["someone", {"name": "Айгүл Серікқызы", "role": None, "may_name": "yes"},
                {"name": 5, "role": "journalist", "may_name": True}],
    "withhold_names": "no",
}


def test_a_body_of_odd_shape_never_stops_a_table(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored body in shapes no import lets in any more still gives one row in every
    format (nothing raised, no file left half-written), and consent fails closed: a
    ``may_name`` that is not ``true`` withholds the name, a ``withhold_names`` that is not
    false withholds every name."""
    from app.config import Config
    from app.records import reports
    from app.store import store as store_module
    from app.store.store import Store
    from crypto import keywrap

    monkeypatch.setattr(store_module, "KDF_PROFILE", keywrap.TEST_PROFILE)
    store = Store(Config(data_dir=tmp_path / "coord", default_locale="en"))
    store.create(PASSPHRASE, "coordinator")
    conn = store.connect()
    conn.execute("INSERT INTO reports(id, revision, created_at, updated_at, title, body,"
                 " content_sha256) VALUES ('odd', 1, 'now', 'now', 'x', ?, 'h')",
                 (json.dumps(ODD_BODY),))
    reports.refresh_head(conn, "odd")
    conn.commit()
    conn.close()
    store.lock()
    data = str(store.config.data_dir)
    for fmt in ("csv", "xlsx", "json", "uwazi"):
        out = tmp_path / f"odd.{fmt}"
        result = CliRunner().invoke(main, ["table", "--data", data, "--format", fmt, "--out",
                                           str(out)], input=PASSPHRASE + "\n",
                                    catch_exceptions=False)
        assert result.exit_code == 0, (fmt, result.output)
        assert out.is_file()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    _block, _header, rows = read_csv(tmp_path / "odd.csv")
    (row,) = rows
    assert row["id"] == "odd" and row["title"] == "" and row["region_code"] == ""
    assert row["acts_code"] == "fine" and row["rights_code"] == ""
    assert "Айгүл" not in row["victims"] and "name withheld" in row["victims"]
    assert "Сержант" not in row["perpetrators"]
    assert "274" in row["legal"]
    lines = (tmp_path / "odd.json").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["id"] == "odd"


def _rows_of(path: Path) -> list[dict[str, str]]:
    return read_csv(path)[2]


@pytest.mark.parametrize("fmt", ["csv", "json", "uwazi", "xlsx"])
def test_rows_made_in_a_child_are_the_rows_made_here(corpus: Corpus, tmp_path: Path,
                                                     fmt: str) -> None:
    """The command line shapes the rows in a forked child (tables.cells_from_child):
    every format holds exactly what the one-process path writes."""
    from app.review import tables

    store = corpus.coordinator
    store.unlock(PASSPHRASE)
    conn = store.connect()
    try:
        options = tables.TableOptions(scope=stats.Scope(include_unconfirmed=True),
                                      publication=False)
        here, there = tmp_path / f"here.{fmt}", tmp_path / f"there.{fmt}"
        assert tables.write_table(conn, here, fmt, options) == tables.write_table(
            conn, there, fmt, options, connect=store.connect) > 10
    finally:
        conn.close()
        store.lock()
    if fmt == "csv":
        assert _rows_of(here) == _rows_of(there)
    elif fmt == "xlsx":
        def sheet(path: Path) -> bytes:
            with zipfile.ZipFile(path) as book:
                xml = book.read("xl/worksheets/sheet1.xml")
            return re.sub(rb"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", b"", xml)  # "made at"
        assert sheet(here) == sheet(there)
    else:
        body = 1 if fmt == "json" else 0  # the json file's first line says when it was made
        assert (here.read_text(encoding="utf-8").splitlines()[body:]
                == there.read_text(encoding="utf-8").splitlines()[body:])


def test_a_child_that_fails_leaves_no_file_and_no_process(corpus: Corpus, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from app.review import tables

    store = corpus.coordinator
    store.unlock(PASSPHRASE)
    conn = store.connect()

    def broken() -> Any:
        raise RuntimeError("no connection in the child")

    forked: list[int] = []
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        if pid:
            forked.append(pid)
        return pid
    monkeypatch.setattr(os, "fork", recorded)
    out = tmp_path / "t.csv"
    try:
        with pytest.raises(tables.TableError):
            tables.write_table(conn, out, "csv", tables.TableOptions(), connect=broken)
        assert list(tmp_path.iterdir()) == []

        # the writer fails half-way: the child (blocked on a full pipe) is ended
        def fail_after(cells: Any, *args: Any) -> int:
            next(cells)
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(tables, "_write_csv", fail_after)
        with pytest.raises(OSError, match="No space"):
            tables.write_table(conn, out, "csv", tables.TableOptions(publication=False),
                               connect=store.connect)
        assert list(tmp_path.iterdir()) == []
    finally:
        conn.close()
        store.lock()
    assert len(forked) == 2
    for pid in forked:  # each child was waited for: none left behind, not even a zombie
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


@pytest.mark.parametrize(("field", "victims"), [
    ("description", ["Айгүл Серікқызы"]),                                   # a bare string
    ("description", [{"name": ["Айгүл Серікқызы"], "may_name": False}]),    # a list as name
    ("title", [{"name": {"kk": "Айгүл Серікқызы"}, "may_name": True}]),     # a dict as name
    ("place", {"name": "Айгүл Серікқызы", "may_name": True}),              # not a list
], ids=["string", "name-list", "name-dict", "victims-dict"])
def test_people_of_odd_shape_are_withheld_everywhere(field: str, victims: Any) -> None:
    """People's entries in shapes no import lets in any more: their consent cannot be
    read, so no name is shown and their words are withheld wherever the report repeats
    them, in every format's row (review, after the F3 backstop)."""
    from app.review import tables

    meta = {"id": "r", "status": "new", "device": "", "received": "", "tags": []}
    body = {"title": "", "description": "", "place": "", "withhold_names": False,
            "victims": victims, "perpetrators": [{"kind": "police", "name": "Сержант"}]}
    body[field] = "Айгүл Серікқызы ұсталды"
    row = tables.report_row(meta, body)
    shaped = uwazi.uwazi_row(meta, tables.tidy(body))
    for cells in (row, shaped):
        assert not [k for k, v in cells.items() if "Серікқызы" in v], cells
    assert "name withheld" in row[field] and "Сержант" not in row["perpetrators"]


def test_the_child_s_lines_are_rows_of_text_or_refused() -> None:
    """What comes through the pipe is read as JSON rows of text: anything else (a pickle
    another process of the same user wrote into the pipe, a number where text belongs)
    is refused, never run."""
    import pickle

    from app.review import tables

    assert tables._batch(b'[["r", "x"], ["s", ""]]\n', 2) == [["r", "x"], ["s", ""]]
    assert tables._batch(b"null\n", 2) is None
    for line in (pickle.dumps([["r", "x"]]), b'{"id": "r"}\n', b'[["r", 5]]\n',
                 b'[["r"]]\n', b'[{"id": "r", "title": "x"}]\n', b'[["r", "x"]'):
        with pytest.raises(ValueError, match="not a batch of rows"):
            tables._batch(line, 2)
