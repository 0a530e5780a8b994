"""CLI messages in the language of ``--lang`` or the locale environment."""


from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import messages
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
