"""Training mode: ``kuager training seed`` (fictional reports) and ``kuager training reset``."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from app.cli.main import main
from app.config import Config
from app.records import attachments, codes, seed
from app.store import training
from app.store.store import Store
from tests.conftest import PASSPHRASE

ROOT = Path(__file__).resolve().parents[1]

#: Public figures of Kazakhstan named in the domain material (tests/data/DOMAIN.md names
#: Жыланбаев) and in the public monitoring reports it paraphrases: politicians,
#: journalists, activists, lawyers. Generated people must never carry one of these names,
#: and none of these surnames. Kept by hand; add a name when the domain material adds one.
PUBLIC_FIGURES = (
    "Марат Жыланбаев", "Marat Zhylanbaev", "Marat Jylanbaev",
    "Қасым-Жомарт Тоқаев", "Касым-Жомарт Токаев", "Kassym-Jomart Tokayev",
    "Нұрсұлтан Назарбаев", "Нурсултан Назарбаев", "Nursultan Nazarbayev",
    "Думан Мухаммедкарим", "Duman Mukhammedkarim",
    "Махамбет Абжан", "Makhambet Abzhan",
    "Лукпан Ахмедьяров", "Lukpan Akhmedyarov",
    "Рамазан Есергепов", "Ramazan Yesergepov",
    "Жанболат Мамай", "Zhanbolat Mamay",
    "Айгерим Тлеужан", "Aigerim Tleuzhan",
    "Мухтар Аблязов", "Mukhtar Ablyazov",
    "Карим Масимов", "Karim Massimov",
    "Евгений Жовтис", "Yevgeniy Zhovtis",
    "Вадим Курамшин", "Vadim Kuramshin",
    "Роза Тулетаева", "Roza Tuletayeva",
    "Владимир Козлов", "Vladimir Kozlov",
    "Макс Бокаев", "Max Bokayev",
    "Талгат Аян", "Talgat Ayan",
    "Асет Матаев", "Asset Matayev",
    "Гульнара Бажкенова", "Gulnara Bazhkenova",
    "Айгуль Утепова", "Aigul Utepova",
    "Серикжан Билаш", "Serikzhan Bilash",
    "Бахытжан Торегожина", "Bakhytzhan Toregozhina",
    "Альнур Ильяшев", "Alnur Ilyashev",
    "Аскар Мамин", "Askar Mamin",
    "Данияр Адильбеков", "Daniyar Adilbekov",
    "Галым Агелеуов", "Galym Ageleuov",
)

_FOLD = str.maketrans("әғқңөұүһіё", "агкноуухие")
_CAPITALISED_PAIR = re.compile(
    r"\b([A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][a-zа-яёәғқңөұүһі-]+) ([A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][a-zа-яёәғқңөұүһі]+)\b")


def _fold(text: str) -> str:
    return text.casefold().translate(_FOLD).replace("ь", "")


def _surname_stem(name: str) -> str:
    """The family part of a name, male form: Тасболова -> тасболов, Нұрланұлы -> нурлан."""
    last = _fold(name.rsplit(maxsplit=1)[-1])
    for suffix in ("улы", "кызы", "uly", "kyzy"):
        if last.endswith(suffix) and len(last) > len(suffix) + 2:
            return last[: -len(suffix)]
    for female in ("ова", "ева", "ина", "ova", "eva", "ina"):
        if last.endswith(female):
            return last[:-1]
    return last


def _domain_material() -> list[Path]:
    """The project's documents and the domain brief they were written from (a copy in
    tests/data, so that a fresh clone checks against the same names)."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
            ROOT / "tests" / "data" / "DOMAIN.md"]


def named_pairs() -> set[str]:
    """Every capitalised word pair in the domain material (names and much else)."""
    pairs: set[str] = set()
    for path in _domain_material():
        for first, second in _CAPITALISED_PAIR.findall(path.read_text(encoding="utf-8")):
            pairs.add(_fold(f"{first} {second}"))
    return pairs


def real_names_among(names: list[str]) -> list[str]:
    figures = {_fold(n) for n in PUBLIC_FIGURES} | named_pairs()
    surnames = {_surname_stem(n) for n in PUBLIC_FIGURES}
    return [n for n in names if _fold(n) in figures or _surname_stem(n) in surnames]


# -- generation --------------------------------------------------------------------------

KAZAKH_LETTERS = set("әғқңөұүһі")
RUSSIAN_WORDS = re.compile(r"\b(в|и|по|на|не|за|что)\b")


def test_every_language_is_present_in_turn() -> None:
    made = seed.generate(40, seed=7)
    assert [m.language for m in made[:4]] == ["kk", "ru", "en", "mixed"]
    by_lang = {lang: [m for m in made if m.language == lang] for lang in seed.LANGUAGES}
    assert all(len(items) == 10 for items in by_lang.values())
    for item in by_lang["kk"]:
        assert KAZAKH_LETTERS & set(item.body["description"]), item.body["description"]
    for item in by_lang["ru"]:
        assert RUSSIAN_WORDS.search(item.body["description"].lower())
        text = item.body["title"] + item.body["description"]
        for name in item.names:  # a Kazakh name in a Russian report is still Russian
            text = text.replace(name, "")
        assert not KAZAKH_LETTERS & set(text), text
    for item in by_lang["en"]:
        assert item.body["description"].isascii() or "\u00a0" in item.body["description"]
        assert all(name.isascii() for name in item.names)
    for item in by_lang["mixed"]:
        text = item.body["title"] + " " + item.body["description"]
        assert KAZAKH_LETTERS & set(text) and RUSSIAN_WORDS.search(text.lower()), text


def test_reports_carry_known_codes_dates_people_and_files() -> None:
    made = seed.generate(60, seed=11)
    precisions = {m.body["occurred_precision"] for m in made}
    assert precisions == {"day", "month", "year", "unknown"}
    for item in made:
        body = item.body
        assert body["region"] in codes.codes(codes.REGIONS)
        assert set(body["rights"]) <= codes.codes(codes.RIGHTS) and body["rights"]
        assert set(body["acts"]) <= codes.codes(codes.ACTS) and body["acts"]
        assert {p["kind"] for p in body["perpetrators"]} <= codes.codes(codes.PERPETRATORS)
        assert {v["role"] for v in body["victims"]} <= codes.codes(codes.VICTIM_ROLES)
        assert all(isinstance(v["consent"], bool) and isinstance(v["may_name"], bool)
                   for v in body["victims"])
        pattern = {"day": r"\d{4}-\d{2}-\d{2}", "month": r"\d{4}-\d{2}", "year": r"\d{4}",
                   "unknown": ""}[body["occurred_precision"]]
        assert re.fullmatch(pattern, body["occurred_on"])
        assert all(".example/" in line for line in body["links"].splitlines())
    acts = {act for m in made for act in m.body["acts"]}
    assert {"detention_administrative", "fine", "search_raid", "blocking", "summons",
            "inspection", "confiscation"} <= acts
    assert any(v["may_name"] for m in made for v in m.body["victims"])
    assert any(not v["may_name"] for m in made for v in m.body["victims"])
    photos = [data for m in made for _n, kind, data in m.files if kind == "image/jpeg"]
    assert photos
    for data in photos:
        with Image.open(io.BytesIO(data)) as image:
            gps = image.getexif().get_ifd(0x8825)
        assert gps[1] == "N" and gps[3] == "E"  # a position, for intake to remove


def test_the_same_seed_makes_the_same_reports() -> None:
    first = [m.body for m in seed.generate(8, seed=5)]
    assert first == [m.body for m in seed.generate(8, seed=5)]
    assert first != [m.body for m in seed.generate(8, seed=6)]


def test_no_generated_person_has_a_real_name() -> None:
    names = [n for m in seed.generate(400, seed=1) for n in m.names]
    assert len(set(names)) > 100  # names really are built from parts
    assert real_names_among(names) == []


def test_the_name_check_catches_a_public_figure() -> None:
    assert real_names_among(["Марат Жыланбаев"]) == ["Марат Жыланбаев"]
    assert real_names_among(["Асқар Жыланбаева"]) == ["Асқар Жыланбаева"]  # the surname alone
    assert real_names_among(["Nazerke Tasbolova"]) == []


def test_the_kept_list_covers_every_surname_in_the_domain_material() -> None:
    """A surname the domain material names (Жыланбаев / Zhylanbaev) is in PUBLIC_FIGURES."""
    surname = re.compile(r"\b[A-ZА-ЯӘҒҚҢӨҰҮҺІ][a-zа-яёәғқңөұүһі]+(?:ov|ev|aev|ов|ев|ова|ева|улы|ұлы)\b")
    kept = {_surname_stem(n) for n in PUBLIC_FIGURES}
    found = set()
    for path in _domain_material():
        text = path.read_text(encoding="utf-8")
        for match in surname.finditer(text):
            before = text[max(0, match.start() - 2):match.start()]
            if before.strip() in ("", ".", "|", "-", "#"):  # a sentence's first word
                continue
            found.add(_surname_stem(match.group()))
    assert found <= kept, found - kept
    if any(path.name == "DOMAIN.md" for path in _domain_material()):
        assert {"жыланбаев", "zhylanbaev", "jylanbaev"} <= found


# -- the command -------------------------------------------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"LC_ALL": None, "LC_MESSAGES": None, "LANG": "C.UTF-8"})


def run(runner: CliRunner, *args: str, stdin: str = "") -> Result:
    return runner.invoke(main, list(args), input=stdin, catch_exceptions=False)


def make_store(runner: CliRunner, data: Path, *extra: str, role: str = "field") -> None:
    result = run(runner, "init", "--role", role, "--data", str(data), *extra,
                 stdin=PASSPHRASE + "\n")
    assert result.exit_code == 0, result.output


def listing(runner: CliRunner, data: Path) -> list[dict]:
    result = run(runner, "reports", "list", "--json", "--data", str(data), stdin=PASSPHRASE + "\n")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_seed_fills_a_training_store_through_intake(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "t"
    make_store(runner, data, "--training")
    result = run(runner, "training", "seed", "--count", "9", "--seed", "2", "--data", str(data),
                 stdin=PASSPHRASE + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "9 fictional reports added to the training store"
    reports = listing(runner, data)
    assert len(reports) == 9
    photos = [a for r in reports for a in r["attachments"] if a["media_type"] == "image/jpeg"]
    assert photos and all(a["metadata_removed"] for a in photos)
    assert all(a["sha256"] != a["original_sha256"] for a in photos)
    # What is stored is the cleaned photo: no GPS position left in it.
    store = Store(Config(data_dir=data, default_locale="en"))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    try:
        rows = conn.execute("SELECT file_name, file_key FROM attachments"
                            " WHERE media_type = 'image/jpeg'").fetchall()
        for row in rows:
            stored = b"".join(attachments.read_chunks(store.config, row[0], row[1]))
            with Image.open(io.BytesIO(stored)) as image:
                assert not image.getexif().get_ifd(0x8825)
                assert 0x010F not in image.getexif()  # nor the camera
    finally:
        conn.close()
        store.lock()
    assert not list((data / "spool").iterdir())  # no spool left behind


def test_seed_refuses_a_real_store(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "real"
    make_store(runner, data)
    result = run(runner, "training", "seed", "--count", "3", "--data", str(data),
                 stdin=PASSPHRASE + "\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("error:") and "training store" in result.stderr
    assert "Traceback" not in result.output
    assert listing(runner, data) == []
    assert not (data / training.MARKER).exists()


def test_seed_refuses_a_count_out_of_range(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "t"
    make_store(runner, data, "--training")
    result = run(runner, "training", "seed", "--count", "0", "--data", str(data),
                 stdin=PASSPHRASE + "\n")
    assert result.exit_code == 2
    assert listing(runner, data) == []


def test_seed_in_russian_says_so_in_russian(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "t"
    make_store(runner, data, "--training")
    result = run(runner, "--lang", "ru", "training", "seed", "--count", "2", "--data", str(data),
                 stdin=PASSPHRASE + "\n")
    assert result.exit_code == 0
    assert "2 вымышленных сообщения" in result.stdout


# -- reset -------------------------------------------------------------------------------


def test_reset_wipes_every_training_store_on_the_kit(runner: CliRunner, tmp_path: Path) -> None:
    kit_data = tmp_path / "data"
    make_store(runner, kit_data, "--training")
    make_store(runner, kit_data / "coordinator", "--training", role="coordinator")
    assert run(runner, "training", "seed", "--count", "3", "--data", str(kit_data),
               stdin=PASSPHRASE + "\n").exit_code == 0
    result = run(runner, "training", "reset", "--data", str(kit_data))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("2 training stores wiped")
    assert kit_data.is_dir() and list(kit_data.iterdir()) == []
    # A new workshop starts from nothing.
    make_store(runner, kit_data, "--training")
    assert listing(runner, kit_data) == []


def test_reset_refuses_when_any_store_is_real(runner: CliRunner, tmp_path: Path) -> None:
    kit_data = tmp_path / "data"
    make_store(runner, kit_data, "--training")
    make_store(runner, kit_data / "mine", role="field")  # someone's real store
    before = sorted(p.relative_to(kit_data) for p in kit_data.rglob("*"))
    result = run(runner, "training", "reset", "--data", str(kit_data))
    assert result.exit_code == 1
    assert result.stderr.startswith("error:") and "nothing was wiped" in result.stderr
    assert sorted(p.relative_to(kit_data) for p in kit_data.rglob("*")) == before
    assert (kit_data / "kuager.key").exists() and (kit_data / "mine" / "kuager.key").exists()


def test_a_stale_or_copied_marker_marks_nothing(runner: CliRunner, tmp_path: Path) -> None:
    trained, real = tmp_path / "t", tmp_path / "r"
    make_store(runner, trained, "--training")
    make_store(runner, real)
    (real / training.MARKER).write_bytes((trained / training.MARKER).read_bytes())
    assert training.is_marked(trained) and not training.is_marked(real)
    assert run(runner, "training", "reset", "--data", str(real)).exit_code == 1
    assert (real / "kuager.key").exists()


def test_reset_with_no_store(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "training", "reset", "--data", str(tmp_path / "empty"))
    assert result.exit_code == 1 and result.stderr.startswith("error: no store")


# -- the trainer's guide -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["TRAINING.md", "TRAINING.kk.md", "TRAINING.ru.md"])
def test_the_guide_uses_only_commands_that_exist(name: str) -> None:
    """Every `./start …` command in the guide (each language) is a kuager command."""
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    used = re.findall(r"\./start((?: --?[\w-]+(?: (?!-)[\w/]+)?)*) ([a-z]+)(?: ([a-z]+))?", text)
    assert len(used) >= 5
    for _options, command, sub in used:
        assert command in main.commands, command
        group = main.commands[command]
        if sub and hasattr(group, "commands") and sub in ("seed", "reset"):
            assert sub in group.commands
    for other in ("TRAINING.md", "TRAINING.kk.md", "TRAINING.ru.md"):
        assert other == name or f"({other})" in text
    assert text.count("|") > 50  # the 90-minute plan is a table
