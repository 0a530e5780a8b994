"""CLI messages in the language of ``--lang`` or the locale environment."""


from __future__ import annotations

import ast
import gettext
import inspect
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from app import messages
from app.cli import help as cli_help
from app.cli.main import main

NO_STORE = {
    "kk": "ішінде қойма жоқ; оны 'kuager init' пәрменімен құрыңыз",
    "ru": "нет хранилища; создайте его командой 'kuager init'",
    "en": "create one with 'kuager init'",
}
CLEAN_ENV = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": None, "LANGUAGE": None}


@pytest.fixture(autouse=True)
def reset_language() -> Iterator[None]:
    yield
    messages._state["lang"] = None


@pytest.mark.parametrize(
    ("lang", "environ", "expected"),
    [
        ("kk", {"LANG": "ru_RU.UTF-8"}, "kk"),
        ("RU", {}, "ru"),
        ("kk_KZ", {}, "kk"),
        (None, {"LANG": "ru_RU.UTF-8"}, "ru"),
        (None, {"LANG": "kk_KZ.UTF-8"}, "kk"),
        (None, {"LANG": "kk_KZ.UTF-8@cyrillic"}, "kk"),
        (None, {"LC_ALL": "ru_KZ.UTF-8", "LANG": "kk_KZ.UTF-8"}, "ru"),
        (None, {"LC_MESSAGES": "kk_KZ", "LANG": "en_US.UTF-8"}, "kk"),
        (None, {"LC_ALL": "", "LANG": "kk_KZ.UTF-8"}, "kk"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {"LANG": "POSIX"}, "en"),
        (None, {"LANG": "de_DE.UTF-8"}, "en"),
        (None, {}, "en"),
        ("de", {"LANG": "ru_RU.UTF-8"}, "ru"),
    ],
)
def test_resolve_language(lang: str | None, environ: dict[str, str], expected: str) -> None:
    assert messages.resolve_language(lang, environ) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("kk", "екі құпия фраза сәйкес келмейді"), ("ru", "парольные фразы не совпадают"),
     ("en", "the two passphrases differ")],
)
def test_translator_loads_catalogs_without_flask(lang: str, expected: str) -> None:
    assert messages.cli_translator(lang, {}).gettext("the two passphrases differ") == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, "1 сообщение запечатано"), (2, "2 сообщения запечатаны"),
     (5, "5 сообщений запечатано"), (11, "11 сообщений запечатано"),
     (21, "21 сообщение запечатано")],
)
def test_cli_ngettext_russian_forms(n: int, expected: str) -> None:
    messages.set_language("ru")
    text = messages.cli_ngettext("%(num)d report sealed into %(path)s (bundle %(seq)s)",
                                 "%(num)d reports sealed into %(path)s (bundle %(seq)s)",
                                 n, path="x.age", seq=3)
    assert text == f"{expected} в x.age (пакет №3)"


def test_cli_gettext_fills_placeholders() -> None:
    messages.set_language("kk")
    assert messages.cli_gettext("recipient added: %(key)s", key="age1x") == "алушы қосылды: age1x"
    assert messages.cli_language() == "kk"


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_cli_error_in_lang_option(lang: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--data", str(tmp_path), "--lang", lang, "reports", "list", "--json"],
        env=CLEAN_ENV)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")  # the contract's prefix stays English
    assert NO_STORE[lang] in result.stderr


@pytest.mark.parametrize(
    ("env", "lang"),
    [({"LANG": "ru_RU.UTF-8"}, "ru"), ({"LANG": "kk_KZ.UTF-8"}, "kk"),
     ({"LC_ALL": "kk_KZ.UTF-8", "LANG": "ru_RU.UTF-8"}, "kk"), ({"LANG": "C"}, "en")],
)
def test_cli_error_from_environment(env: dict[str, str], lang: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--data", str(tmp_path), "reports", "list", "--json"],
                                env={**CLEAN_ENV, **env})
    assert result.exit_code == 1
    assert NO_STORE[lang] in result.stderr


INIT_LINES = {
    "kk": ("Үйлестірушінің шифрланған қоймасы құрылды: ", "Нақты қойма (оқу қоймасы емес).",
           "Ашық кілттің саусақ ізі: ", "телефон арқылы"),
    "ru": ("Создано зашифрованное хранилище координатора: ", "Настоящее хранилище (не учебное).",
           "Отпечаток открытого ключа: ", "по телефону"),
    "en": ("Created an encrypted coordinator store in ", "Real store (not for training).",
           "Fingerprint of the public key: ", "by phone"),
}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_init_says_what_was_created_in_the_language(lang: str, tmp_path: Path) -> None:
    from tests.conftest import PASSPHRASE

    result = CliRunner().invoke(
        main, ["--data", str(tmp_path / "c"), "--lang", lang, "init", "--role", "coordinator"],
        input=PASSPHRASE + "\n", env=CLEAN_ENV)
    assert result.exit_code == 0, result.output
    created, real, fingerprint, phone = INIT_LINES[lang]
    lines = result.stdout.splitlines()
    assert lines[0] == created + str((tmp_path / "c").resolve())
    assert lines[1] == real and lines[2].startswith(fingerprint) and phone in lines[3]
    assert lines[-1].startswith("age1")  # the contract: the key is the last line


@pytest.mark.parametrize(("lang", "created", "training"), [
    ("kk", "Далалық құрылғының шифрланған қоймасы құрылды: ", "Оқу қоймасы: "),
    ("ru", "Создано зашифрованное хранилище полевого устройства: ", "Учебное хранилище: "),
])
def test_init_field_in_the_language(lang: str, created: str, training: str,
                                    tmp_path: Path) -> None:
    from tests.conftest import PASSPHRASE

    result = CliRunner().invoke(
        main, ["--data", str(tmp_path / "f"), "init", "--role", "field", "--training"],
        input=PASSPHRASE + "\n", env={**CLEAN_ENV, "LANG": f"{lang}_KZ.UTF-8"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(created) and lines[1].startswith(training)
    assert lines[2].startswith({"kk": "Құрылғының саусақ ізі: ",
                                "ru": "Отпечаток устройства: "}[lang])


# -- --help in three languages ------------------------------------------------------------

WIDE = {"terminal_width": 10_000, "max_content_width": 10_000}  # no wrapping: compare text
USAGE = {"kk": "Қолданылуы:", "ru": "Использование:", "en": "Usage:"}
OPTIONS = {"kk": "Параметрлер:", "ru": "Параметры:", "en": "Options:"}


def _commands(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    yield path, group
    for name, sub in sorted(group.commands.items()):
        if isinstance(sub, click.Group):
            yield from _commands(sub, (*path, name))
        else:
            yield (*path, name), sub


COMMANDS = list(_commands())


def _texts(command: click.Command) -> list[str]:
    """What the code gives a help page: the command's help, each option's help."""
    texts = [inspect.cleandoc(command.help)] if command.help else []
    return texts + [p.help for p in command.params if isinstance(p, click.Option) and p.help]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_every_command_and_option_has_help() -> None:
    bare = [(" ".join(path), p.opts) for path, cmd in COMMANDS for p in cmd.params
            if isinstance(p, click.Option) and not p.help]
    assert bare == [] and all(cmd.help for _path, cmd in COMMANDS)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_help_text_is_in_the_catalog(lang: str) -> None:
    """What the extractor (app/cli/_extract.py) missed, or a translator left in English."""
    catalog = messages.cli_translator(lang, {})
    untranslated = sorted({text for _path, cmd in COMMANDS for text in _texts(cmd)
                           if catalog.gettext(text) == text})
    assert untranslated == []


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
@pytest.mark.parametrize("path", [path for path, _cmd in COMMANDS], ids=" ".join)
def test_help_page_in_the_language(path: tuple[str, ...], lang: str) -> None:
    command = dict(COMMANDS)[path]
    result = CliRunner().invoke(main, ["--lang", lang, *path, "--help"], env=CLEAN_ENV,
                                catch_exceptions=False, **WIDE)
    assert result.exit_code == 0
    page = _flat(result.stdout)
    assert page.startswith(USAGE[lang]) and OPTIONS[lang] in page
    catalog = messages.cli_translator(lang, {})
    for text in _texts(command):
        shown = _flat(catalog.gettext(text))
        assert shown.split("\n\n")[0] in page
        if lang != "en":
            assert _flat(text) not in page, text


@pytest.mark.parametrize(
    ("env", "lang"),
    [({"LANG": "ru_RU.UTF-8"}, "ru"), ({"LANG": "kk_KZ.UTF-8"}, "kk"),
     ({"LC_ALL": "kk_KZ.UTF-8", "LANG": "ru_RU.UTF-8"}, "kk"), ({"LANG": "C.UTF-8"}, "en")],
)
def test_help_language_from_the_environment(env: dict[str, str], lang: str) -> None:
    result = CliRunner().invoke(main, ["init", "--help"], env={**CLEAN_ENV, **env})
    assert result.stdout.startswith(USAGE[lang])
    shown = messages.cli_translator(lang, {}).gettext("Show this message and exit.")
    assert shown in result.stdout


def test_lang_option_beats_the_environment_even_before_help() -> None:
    """click answers --help as soon as it reads it: --lang is read before that."""
    result = CliRunner().invoke(main, ["--lang", "kk", "serve", "--help"],
                                env={**CLEAN_ENV, "LANG": "ru_RU.UTF-8"})
    assert result.stdout.startswith("Қолданылуы:")
    assert "Оператор беттерінің порты" in result.stdout


def test_a_subcommands_own_lang_option_is_not_the_messages_language() -> None:
    result = CliRunner().invoke(main, ["table", "--lang", "kk", "--help"],
                                env={**CLEAN_ENV, "LANG": "ru_RU.UTF-8"})
    assert result.stdout.startswith("Использование:")


@pytest.mark.parametrize(("lang", "expected"), [
    ("kk", "'bogus' — мыналардың бірі емес: 'field', 'coordinator'"),
    ("ru", "'bogus' — не одно из значений: 'field', 'coordinator'"),
    ("en", "'bogus' is not one of: 'field', 'coordinator'"),
])
def test_usage_errors_in_the_language(lang: str, expected: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--lang", lang, "init", "--role", "bogus"],
                                env=CLEAN_ENV)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("Error: ")  # click's prefix stays
    assert expected in result.stderr
    missing = CliRunner().invoke(main, ["--lang", lang, "identity", "import",
                                        str(tmp_path / "none.age")], env=CLEAN_ENV)
    assert missing.exit_code == 2
    word = {"kk": "Файл", "ru": "Файл", "en": "File"}[lang]
    assert f"{word} '{tmp_path / 'none.age'}'" in missing.stderr


def test_click_still_says_what_the_catalogs_translate() -> None:
    """A click upgrade that rewords a message would leave it in English: say so here."""
    said: set[str] = set()
    for source in Path(click.__file__).parent.glob("*.py"):
        said |= {node.value for node in ast.walk(ast.parse(source.read_text("utf-8")))
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert sorted((set(cli_help.CLICK_STRINGS) | set(cli_help.PATH_KINDS)) - said) == []


def test_help_texts_are_extracted_from_docstrings_and_help_keywords() -> None:
    from app.cli import _extract

    source = '''
@command(main, "x")
def x():
    """First line.

    Second paragraph."""

@main.group("g", help="Group help.")
def g():
    """Not shown: help= wins."""

def helper():
    """A helper's docstring is no help text."""
'''
    found = [text for _line, _func, text, _c in _extract.help_texts(source)]
    assert sorted(found) == ["First line.\n\nSecond paragraph.", "Group help.",
                             "Not shown: help= wins."]


def test_cli_reads_compiled_catalogs_without_babel(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from app import i18n

    assert messages.TRANSLATIONS_DIR == i18n.TRANSLATIONS_DIR
    base = tmp_path / "ru" / "LC_MESSAGES"
    base.mkdir(parents=True)
    for name in ("messages.po", "messages.mo"):
        shutil.copy2(i18n.TRANSLATIONS_DIR / "ru" / "LC_MESSAGES" / name, base / name)
    monkeypatch.setattr(messages, "TRANSLATIONS_DIR", tmp_path)
    os.utime(base / "messages.po", (1, 1))
    compiled = messages._compiled_catalog("ru")
    assert type(compiled) is gettext.GNUTranslations
    assert compiled.gettext("Usage:") == "Использование:"
    forms = [compiled.ngettext("%(num)d identity added", "%(num)d identities added", n)
             for n in (1, 2, 5, 21)]  # the .mo's own plural rule: Russian's three forms
    assert forms == ["Добавлен %(num)d ключ координатора", "Добавлено %(num)d ключа координатора",
                     "Добавлено %(num)d ключей координатора", "Добавлен %(num)d ключ координатора"]
    os.utime(base / "messages.po")  # a translator's edit, not compiled yet: Babel's turn
    assert messages._compiled_catalog("ru") is None
