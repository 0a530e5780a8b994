"""Full-text search in SQLCipher's FTS5: what is indexed, what a query finds, that no
query is ever read as FTS5 syntax, and that snippets are escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlcipher3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from app.review import query as q
from app.store import fulltext

DOCS: dict[str, dict[str, object]] = {
    "kk": {
        "title": "Жаңаөзендегі бейбіт жиын",
        "description": "Айгүл Сәрсенова мен Қайрат Нұрланұлы полиция бөлімінде ұсталды.",
        "place": "Жаңаөзен, Маңғыстау облысы",
        "victims": [{"name": "Айгүл Сәрсенова", "role": "журналист", "consent": True}],
        "contact": "+7 701 555 0101, aigul.secret@mail.kz",
    },
    "ru": {
        "title": "Задержание журналиста в Алматы",
        "description": "Евгений Щукин задержан у здания акимата. Юлия Фёдорова сообщила адвокату.",
        "place": "Алматы",
        "perpetrators": [{"kind": "police", "name": "УП города Алматы"}],
        "legal": [{"code": "КоАП РК", "article": "488"}],
        "sources": ["witness", "media"],
        "contact": "телефон 8 777 000 11 22",
    },
    "en": {
        "title": "Protest dispersed in Zhanaozen",
        "description": "Police detained Yulia Shchukina and Kairat Nurlanuly near Nur-Sultan road.",
        "links": "https://example.org/report/zhanaozen-2022",
        "victims": [{"name": "Evgeniy Petrov", "role": "lawyer"}],
    },
    "mixed": {
        "title": "Court hearing in Qaraǵandy",
        "description": "Sud Qarağandy qalasynda ótti. Суд над Aigul Nurlanova, Нұрсұлтан.",
        "abroad_country": "",
        "sources": [{"kind": "document", "name": "приговор"}, None, 7],
        "legal": [{"code": "UK RK", "article": "174"}],
    },
    "title_hit": {
        "title": "Almaty",
        "description": "A long report about something else entirely. " * 20,
    },
    "body_hit": {
        "title": "Something else",
        "description": "Many words here. " * 10 + "Once Almaty in the middle. " + "More. " * 10,
    },
}
ATTACHMENTS = {"en": ["photo_shymkent_01.jpg"], "kk": ["Протокол.pdf"]}


@pytest.fixture
def conn() -> Iterator[sqlcipher3.Connection]:
    db = sqlcipher3.connect(":memory:")
    db.execute("PRAGMA key = 'test'")
    db.executescript(fulltext.SCHEMA_SQL)
    for report_id, body in DOCS.items():
        fulltext.write(db, report_id, body, ATTACHMENTS.get(report_id, []))
    db.commit()
    yield db
    db.close()


def found(conn: sqlcipher3.Connection, text: str) -> set[str]:
    return set(q.search(conn, text)[0])


# --- the SQLite we ship --------------------------------------------------------------


def test_sqlcipher_has_fts5_and_the_tokenizers() -> None:
    db = sqlcipher3.connect(":memory:")
    options = {row[0] for row in db.execute("PRAGMA compile_options")}
    assert "ENABLE_FTS5" in options
    db.execute("CREATE VIRTUAL TABLE a USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE b USING fts5(x, tokenize='trigram')")
    db.execute("CREATE VIRTUAL TABLE c USING fts5(x, content='', contentless_delete=1)")


@pytest.mark.parametrize(
    ("stored", "typed"),
    [("Алматы", "алматы"), ("Задержание", "задержание"), ("Қайрат", "қайрат"),
     ("ҚАЙРАТ", "Қайрат"), ("ӨСКЕМЕН", "өскемен"), ("Іле", "іле"), ("Ürümqi", "urumqi")],
)  # fmt: skip
def test_unicode61_ignores_case_in_every_script(stored: str, typed: str) -> None:
    db = sqlcipher3.connect(":memory:")
    db.executescript(fulltext.SCHEMA_SQL)
    fulltext.write(db, "r", {"title": stored})
    expression = f'title : "{typed}"'  # the tokenizer alone, no folding
    assert db.execute("SELECT count(*) FROM report_search WHERE report_search MATCH ?",
                      (expression,)).fetchone() == (1,)  # fmt: skip


def test_unicode61_keeps_yo_apart_the_folded_column_joins_it() -> None:
    """remove_diacritics is for Latin letters only: ё ≠ е, й ≠ и in the text columns."""
    db = sqlcipher3.connect(":memory:")
    db.executescript(fulltext.SCHEMA_SQL)
    fulltext.write(db, "r", {"title": "Фёдоров"})
    count = "SELECT count(*) FROM report_search WHERE report_search MATCH ?"
    assert db.execute(count, ('title : "федоров"',)).fetchone() == (0,)
    assert q.search(db, "Федоров")[0] == ["r"]


# --- what is indexed ---------------------------------------------------------------


def test_document_text_has_every_text_but_contact() -> None:
    body = {
        "title": "T1", "description": "D1", "place": "P1", "abroad_country": "Kyrgyzstan",
        "victims": [{"name": "V1", "role": "R1", "consent": True, "may_name": False}],
        "perpetrators": [{"kind": "police", "name": "N1"}],
        "legal": [{"code": "C1", "article": "A1"}],
        "sources": ["S1", {"note": "S2"}], "links": "https://l1.example",
        "contact": "SECRET-CONTACT", "region": "almaty_city", "rights": ["assembly"],
    }  # fmt: skip
    text = fulltext.document_text(body, ["F1.jpg"])
    for word in ("T1", "D1", "P1", "Kyrgyzstan", "V1", "R1", "N1", "C1", "A1", "S1", "S2",
                 "l1.example", "F1.jpg"):  # fmt: skip
        assert word in text
    assert "SECRET" not in text
    assert "almaty_city" not in text  # codes are filters, not words
    assert text.startswith("T1\n")


@pytest.mark.parametrize(
    "body",
    [{}, {"title": None}, {"victims": None}, {"victims": ["x", None, 3]}, {"legal": "x"},
     {"sources": "one source"}, {"sources": [[["deep"]]]}, {"links": ["a", "b"]},
     {"title": 5, "description": True}],
)  # fmt: skip
def test_document_text_is_defensive(body: dict[str, object]) -> None:
    assert isinstance(fulltext.document_text(body, []), str)


def test_contact_details_are_not_searchable(conn: sqlcipher3.Connection) -> None:
    assert found(conn, "aigul.secret") == set()
    assert found(conn, "701") == set()
    assert found(conn, "телефон") == set()


def test_reindex_replaces_and_remove_forgets(conn: sqlcipher3.Connection) -> None:
    assert "ru" in found(conn, "Щукин")
    fulltext.write(conn, "ru", {"title": "Переписано"})
    assert "ru" not in found(conn, "Щукин")
    assert found(conn, "переписано") == {"ru"}
    fulltext.remove(conn, "ru")
    assert found(conn, "переписано") == set()
    fulltext.remove(conn, "never-indexed")
    assert conn.execute("SELECT count(*) FROM report_search_ids").fetchone() == (len(DOCS) - 1,)


def test_attachment_names_links_legal_sources(conn: sqlcipher3.Connection) -> None:
    assert found(conn, "Шымкент") == {"en"}  # photo_shymkent_01.jpg
    assert found(conn, "протокол") == {"kk"}
    assert found(conn, "example.org") == {"en"}
    assert found(conn, "488") == {"ru"}
    assert found(conn, "КоАП") == {"ru"}
    assert found(conn, "приговор") == {"mixed"}
    assert found(conn, "witness") == {"ru"}


# --- what a query finds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("алматы", {"ru", "title_hit", "body_hit"}),
        ("АЛМАТЫ", {"ru", "title_hit", "body_hit"}),
        ("задержание", {"ru"}),
        ("ЗАДЕРЖАНИЕ", {"ru"}),
        ("қайрат", {"kk", "en"}),
        ("ҚАЙРАТ", {"kk", "en"}),
    ],
)
def test_case_in_every_script(conn: sqlcipher3.Connection, typed: str, expected: set[str]) -> None:
    assert found(conn, typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Жаңа*", {"kk", "en"}),
        ("Жаңа", {"kk", "en"}),  # every word is also a prefix
        ("Жаңаөзен", {"kk", "en"}),  # Жаңаөзендегі
        ("задерж", {"ru"}),  # Задержание, задержан
        ("журналист", {"kk", "ru"}),  # журналиста
        ("Zhana", {"kk", "en"}),
        ("Алма", {"ru", "title_hit", "body_hit"}),
    ],
)
def test_prefixes(conn: sqlcipher3.Connection, typed: str, expected: set[str]) -> None:
    assert found(conn, typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ('"Евгений Щукин"', {"ru"}),
        ('"Щукин Евгений"', set()),  # order matters
        ('"Евгений Щукин задержан"', {"ru"}),
        ('"Evgeny Shchukin"', {"ru"}),  # a phrase across scripts
        ('"Евгений Щук"*', {"ru"}),  # last word a prefix
        ('"Евгений Щук"', set()),  # otherwise whole words
        ('"dispersed in Zhanaozen"', {"en"}),
        ('"in Zhanaozen dispersed"', set()),
        ("“Евгений Щукин”", {"ru"}),  # typographic quotes
        ("«Евгений Щукин»", {"ru"}),
    ],
)
def test_phrases(conn: sqlcipher3.Connection, typed: str, expected: set[str]) -> None:
    assert found(conn, typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Zhanaozen", {"kk", "en"}),
        ("Janaözen", {"kk", "en"}),
        ("Жаңаөзен", {"kk", "en"}),
        ("Жанаозен", {"kk", "en"}),
        ("Aigul", {"kk", "mixed"}),
        ("Айгүл", {"kk", "mixed"}),
        ("Айгуль", {"kk", "mixed"}),
        ("Kairat", {"kk", "en"}),
        ("Qairat", {"kk", "en"}),
        ("Nursultan", {"mixed", "en"}),  # Нұрсұлтан; Nur-Sultan as one word
        ("Нур-Султан", {"mixed", "en"}),
        ("Нұрсұлтан", {"mixed", "en"}),
        ("Shymkent", {"en"}),
        ("Karaganda", {"mixed"}),
        ("Қарағанды", {"mixed"}),
        ("Evgeny", {"ru", "en"}),
        ("Yevgeny", {"ru", "en"}),
        ("Evgenij", {"ru", "en"}),
        ("Евгений", {"ru", "en"}),
        ("Yulia", {"ru", "en"}),
        ("Iuliia", {"ru", "en"}),
        ("Julia", {"ru", "en"}),
        ("Юлия", {"ru", "en"}),
        ("Shchukin", {"ru", "en"}),
        ("Щукина", {"ru", "en"}),
        ("Fyodorova", {"ru"}),
        ("Федорова", {"ru"}),
        ("Almaty", {"ru", "title_hit", "body_hit"}),
        ("Sarsenova", {"kk"}),
        ("Mangystau", {"kk"}),
    ],
)
def test_transliterations(conn: sqlcipher3.Connection, typed: str, expected: set[str]) -> None:
    assert found(conn, typed) == expected


def test_words_are_anded(conn: sqlcipher3.Connection) -> None:
    assert found(conn, "Aigul Kairat") == {"kk"}
    assert found(conn, "Aigul Karaganda") == {"mixed"}
    assert found(conn, "Aigul nothinglikethis") == set()


def test_title_hits_rank_first(conn: sqlcipher3.Connection) -> None:
    ranked = q.search(conn, "Almaty")[0]
    assert ranked[0] == "title_hit"
    assert ranked.index("title_hit") < ranked.index("body_hit")
    assert q.search(conn, "Almaty", limit=1)[0] == ["title_hit"]


def test_cross_script_title_hit_ranks_first(conn: sqlcipher3.Connection) -> None:
    assert q.search(conn, "Алматы")[0][0] in {"title_hit", "ru"}
    assert q.search(conn, "Алматы")[0].index("title_hit") < q.search(conn, "Алматы")[0].index(
        "body_hit"
    )


# --- hostile queries ---------------------------------------------------------------

HOSTILE = [
    '"', '""', '"""', '"unbalanced Zhanaozen', 'Zhanaozen"', '"a" "b', "NEAR", "NEAR(a b)",
    "NEAR(Алматы Щукин, 2)", "AND", "OR", "NOT", "Алматы AND", "OR Алматы", "NOT Алматы",
    "Алматы NOT Щукин", "a OR b AND NOT c", "*", "**", "Алм**", "*Алм", "(", ")", "((Алматы",
    "Алматы)", "-", "--", "-Алматы", "^", "^Алматы", ":", "title:", "title:Алматы",
    "{title body}:x", "body_folded : almat", "rowid", "report_search", "\x00", "Алматы\x00Щукин",
    "\x01\x02\x1f\x7f", "\u200b\u200f\u2028", "'", "'; DROP TABLE reports; --", "\\", "%", "_",
    "%Алматы%", "+", "Алматы + Щукин", "a" * 10_000, "Алматы " * 2_000, "ж" * 10_000,
    '"' * 1001, "\ufffd", "🙂", "北京", "𝔸𝕝𝕞𝕒𝕥𝕪", "Ａｌｍａｔｙ", "İstanbul", "ß",
    "<script>alert(1)</script>", "&amp;", "col:\"x\"*", "x*y", "\"x\"*\"y\"",
]  # fmt: skip


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_queries_never_raise(conn: sqlcipher3.Connection, typed: str) -> None:
    ids, notes = q.search(conn, typed)
    assert set(ids) <= set(DOCS)
    assert all(isinstance(note, str) for note in notes)
    q.highlight("Алматы Zhanaozen <b>x</b>", typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Алматы AND", set()),  # AND is a word, and no Almaty report has it
        ("NOT Щукин", set()),
        ("title:Алматы", set()),  # "title" is a word here too
        ("-Алматы", {"ru", "title_hit", "body_hit"}),  # no exclusion: the dash is nothing
        ("^Алматы", {"ru", "title_hit", "body_hit"}),
        ("((Алматы", {"ru", "title_hit", "body_hit"}),
        ("Алм**", {"ru", "title_hit", "body_hit"}),
        ("Алматы\x00Щукин", {"ru"}),
        ("Ａｌｍａｔｙ", {"ru", "title_hit", "body_hit"}),  # fullwidth folds by NFKD
        ("%Алматы%", {"ru", "title_hit", "body_hit"}),
    ],
)
def test_hostile_queries_mean_their_words(
    conn: sqlcipher3.Connection, typed: str, expected: set[str]
) -> None:
    assert found(conn, typed) == expected


def test_operator_words_are_searched_as_words() -> None:
    db = sqlcipher3.connect(":memory:")
    db.executescript(fulltext.SCHEMA_SQL)
    fulltext.write(db, "r", {"title": "NEAR AND OR NOT title"})
    fulltext.write(db, "s", {"title": "something"})
    for typed in ("NEAR", "and", "OR", "not", "title", '"AND OR"'):
        assert q.search(db, typed)[0] == ["r"], typed


def test_every_word_is_a_quoted_string() -> None:
    expression, _ = q.build_match('Алматы NEAR(x) title:"a""b" -c ^d')
    assert expression is not None
    outside = re.sub(r'"(?:[^"]|"")*"\*?', "", expression)  # drop every FTS5 string
    assert set(re.findall(r"[^\s(){}:]+", outside)) <= {
        "OR", "AND", "title", "body", "title_folded", "body_folded", "extra",
    }  # fmt: skip


@pytest.mark.parametrize("typed", ["", " ", "-", "*", '""', "()", "\x00", "«»", "!!!", ":::"])
def test_nothing_to_search(typed: str) -> None:
    expression, notes = q.build_match(typed)
    assert expression is None
    assert q.NOTE_EMPTY in notes


def test_long_queries_are_cut_with_a_note() -> None:
    expression, notes = q.build_match("x" * 10_000)
    assert expression is not None
    assert any("2000 characters" in note for note in notes)
    words = " ".join(f"w{i}" for i in range(100))
    expression, notes = q.build_match(words)
    assert expression is not None
    assert expression.count(" AND ") == q.MAX_TERMS - 1
    assert any("16 words" in note for note in notes)


def test_unbalanced_quote_runs_to_the_end(conn: sqlcipher3.Connection) -> None:
    ids, notes = q.search(conn, '"Евгений Щукин')
    assert ids == ["ru"]
    assert q.NOTE_QUOTE in notes


def test_one_letter_is_a_whole_word_not_a_prefix(conn: sqlcipher3.Connection) -> None:
    assert found(conn, "a") == {"title_hit"}  # "A long report", not every word with an a
    assert found(conn, "a*") >= {"title_hit", "body_hit", "en"}


def test_long_repeated_letters_do_not_become_short_prefixes(conn: sqlcipher3.Connection) -> None:
    """``aaaa`` folds to ``a``: a short key is a whole word, so only the word "A" matches."""
    assert found(conn, "a" * 10_000) == {"title_hit"}
    assert found(conn, "aaaa") == {"title_hit"}


_db = sqlcipher3.connect(":memory:", check_same_thread=False)
_db.executescript(fulltext.SCHEMA_SQL)
for _id, _body in DOCS.items():
    fulltext.write(_db, _id, _body)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_query_is_safe(typed: str) -> None:
    ids, notes = q.search(_db, typed)
    assert set(ids) <= set(DOCS)
    expression, _ = q.build_match(typed)
    assert (expression is None) == (q.NOTE_EMPTY in notes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from("\"*()-^:+ NEARORNOTANDжаңаZhan\x00'{}"), max_size=60))
def test_operator_soup_is_safe(typed: str) -> None:
    q.search(_db, typed)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_document_indexes_and_finds_its_first_word(text: str) -> None:
    db = sqlcipher3.connect(":memory:")
    db.executescript(fulltext.SCHEMA_SQL)
    fulltext.write(db, "r", {"title": text, "description": text})
    words = q.fold.words(text)
    if words and words[0][:64].isalnum():
        assert q.search(db, '"' + words[0] + '"')[0] in (["r"], [])


# --- highlighting --------------------------------------------------------------------


def test_highlight_marks_cross_script_matches() -> None:
    text = "Суд над Айгүл Нурлановой в Жаңаөзене; Aigul was not present."
    snippet = q.highlight(text, "Aigul Zhanaozen")
    assert isinstance(snippet, Markup)
    assert "<mark>Айгүл</mark>" in snippet
    assert "<mark>Жаңаөзене</mark>" in snippet
    assert "<mark>Aigul</mark>" in snippet
    assert "<mark>Суд</mark>" not in snippet


def test_highlight_escapes_text_and_query() -> None:
    text = '<script>alert("x")</script> Алматы <img src=x onerror=alert(1)> &amp; "q"'
    for typed in ("<script>", "script", 'Алматы"><script>', "img onerror", "&amp;", "<mark>"):
        snippet = str(q.highlight(text, typed))
        assert "<script" not in snippet
        assert "<img" not in snippet
        assert re.sub(r"</?mark>", "", snippet).count("<") == 0
    assert "<mark>script</mark>" in str(q.highlight(text, "script"))
    assert "&lt;script&gt;" in str(q.highlight(text, "nothing"))


def test_highlight_cuts_around_the_first_match() -> None:
    text = "word " * 200 + "Щукин задержан " + "other " * 200
    snippet = str(q.highlight(text, "Shchukin", max_len=80))
    assert "<mark>Щукин</mark>" in snippet
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    assert len(re.sub(r"</?mark>", "", snippet)) <= 80 + 2


def test_highlight_without_match_is_the_start() -> None:
    assert str(q.highlight("first words " * 50, "absent", max_len=40)).startswith("first words")
    assert str(q.highlight("short", "absent")) == "short"
    assert str(q.highlight("", "x")) == ""


def test_highlight_phrase_and_prefix() -> None:
    snippet = str(q.highlight("Евгений Щукин и Евгеньев", '"Евгений Щукин"'))
    assert "<mark>Евгений</mark> <mark>Щукин</mark>" in snippet
    assert "<mark>Евгеньев</mark>" not in snippet  # phrase words are whole words
    assert "<mark>Евгения</mark>" in str(q.highlight("Евгения", "Евген"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=50))
def test_highlight_never_lets_markup_through(text: str, typed: str) -> None:
    snippet = str(q.highlight(text, typed))
    assert re.sub(r"</?mark>", "", snippet).count("<") == 0


def test_write_many_writes_the_entries_write_writes() -> None:
    """An import's and a rebuild's batch (``write_many``) leaves every token at the same
    place as one ``write`` per report, re-indexing included (fts5vocab: term, row, column,
    offset)."""
    def index(batch: bool) -> list[tuple[object, ...]]:
        db = sqlcipher3.connect(":memory:")
        db.execute("PRAGMA key = 'test'")
        db.executescript(fulltext.SCHEMA_SQL + "CREATE TABLE attachments(id INTEGER PRIMARY"
                         " KEY, report_id TEXT, name TEXT, added_at TEXT);"
                         "CREATE VIRTUAL TABLE v USING fts5vocab(report_search, instance);")
        for report_id, names in ATTACHMENTS.items():
            for name in names:
                db.execute("INSERT INTO attachments(report_id, name, added_at) VALUES (?,?,?)",
                           (report_id, name, "2026-01-01"))
        for round_ in range(2):  # the second round re-indexes every report
            docs = {i: {**body, "title": f"{body['title']} {round_}"} for i, body in DOCS.items()}
            if batch:
                fulltext.write_many(db, docs)
            else:
                for report_id, body in docs.items():
                    fulltext.write(db, report_id, body, ATTACHMENTS.get(report_id, []))
        rows = db.execute("SELECT term, doc, col, offset FROM v ORDER BY 1, 2, 3, 4").fetchall()
        ids = db.execute("SELECT rowid, report_id FROM report_search_ids ORDER BY 1").fetchall()
        db.close()
        return [*rows, *ids]

    single = index(batch=False)
    assert len(single) > 100
    assert index(batch=True) == single
