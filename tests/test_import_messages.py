"""Why an import was refused, in the reader's language: crypto and operating-system errors
are mapped to translated sentences on the web page and in ``kuager import``; the page names
the uploaded file, never the spool file it was saved to (issue 14, friction)."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest
from flask import Flask

from app.exchange import refusals
from app.exchange.staging import ImportRefused
from crypto import errors as crypto_errors
from tests import desk_world
from tests.test_exchange import run

CYRILLIC = re.compile(r"[а-яёәғқңөұүһі]", re.IGNORECASE)
ENGLISH_CRYPTO = ("chunk", "authentication", "age file", "version line", "No such file",
                  "payload", "manifest", "stanza")


@pytest.mark.parametrize("exc", [
    crypto_errors.TamperedPayload("chunk 0 failed authentication"),
    crypto_errors.TruncatedPayload("the payload is cut off after chunk 3"),
    crypto_errors.TrailingData("data follows the final chunk 2"),
    crypto_errors.HeaderError("not an age file: the version line is missing"),
    crypto_errors.HeaderError("stanza body line is longer than 64 columns"),
    crypto_errors.HeaderMacError("header MAC does not verify: the header was altered"),
    crypto_errors.NoIdentityMatch("none of the given keys can open this file"),
    crypto_errors.ArmorError("ASCII-armored age files are not supported"),
    crypto_errors.BadSignature("the device signature does not verify"),
    crypto_errors.RecipientMismatch("this bundle was re-encrypted"),
    crypto_errors.ContentMismatch("entry 'x' does not match its SHA-256"),
    crypto_errors.ManifestError("manifest is not valid JSON"),
    crypto_errors.UnsupportedBundleVersion("unsupported bundle version"),
    crypto_errors.CryptoError("something new"),
    OSError(errno.ENOENT, "No such file or directory"),
    OSError(errno.EACCES, "Permission denied"),
    OSError(errno.EISDIR, "Is a directory"),
    OSError(errno.EIO, "Input/output error"),
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EXDEV, "Invalid cross-device link"),
])
@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_cause_has_a_translated_message(public_app: Flask, exc: Exception,
                                              lang: str) -> None:
    with public_app.test_request_context(f"/?lang={lang}"):
        shown = refusals.explain(ImportRefused(str(exc), cause=exc))
    assert CYRILLIC.search(shown), shown
    # Only names stay in Latin letters: Kuager, the age format, USB.
    assert str(exc) not in shown
    assert not re.search(r"[A-Za-z]{3,}", re.sub(r"\b(Kuager|age|USB)\b", "", shown)), shown


def test_a_refusal_without_cause_keeps_its_own_message() -> None:
    assert refusals.explain(ImportRefused("уже переведено")) == "уже переведено"


def test_distinct_causes_get_distinct_messages(public_app: Flask) -> None:
    with public_app.test_request_context("/?lang=ru"):
        truncated = refusals.crypto_reason(crypto_errors.TruncatedPayload("x"))
        not_age = refusals.crypto_reason(crypto_errors.HeaderError("not an age file: x"))
        other_key = refusals.crypto_reason(crypto_errors.NoIdentityMatch("x"))
    assert len({truncated, not_age, other_key}) == 3


@pytest.mark.parametrize(("lang", "damaged", "not_age"), [
    ("kk", "Файл бүлінген немесе толық емес", "Бұл Kuager пакеті емес"),
    ("ru", "Файл повреждён или неполон", "Это не пакет Kuager"),
])
def test_web_import_refusal_is_translated_and_names_the_upload(
        tmp_path: Path, lang: str, damaged: str, not_age: str) -> None:
    world = desk_world.build(tmp_path)
    spool_dir = str(world.coordinator_dir / "spool")
    tampered = bytearray(world.bundle)
    tampered[-40] ^= 1
    for content, name, expected in ((bytes(tampered), "флешка-пакет.age", damaged),
                                    (b"just some text\n", "заметка.txt", not_age)):
        world.coordinator.get(f"/exchange/import?lang={lang}")
        response = desk_world.import_upload(world.coordinator, content, name)
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        flash = page.split('<p class="flash">', 1)[1].split("</p>", 1)[0]
        assert name in flash
        assert expected.lower() in flash.lower(), flash
        for english in ENGLISH_CRYPTO:
            assert english not in flash, english
        assert spool_dir not in page and "upload-" not in page
        assert str(world.coordinator_dir) not in page


def test_web_import_success_names_the_upload_not_the_spool(tmp_path: Path) -> None:
    world = desk_world.build(tmp_path)
    again = desk_world.import_upload(world.coordinator, world.bundle, "мой пакет.age")
    page = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "мой пакет.age" in page
    assert str(world.coordinator_dir) not in page and "upload-" not in page


def test_cli_import_refusal_in_the_chosen_language(tmp_path: Path) -> None:
    from tests.test_exchange import init

    init(tmp_path / "c", "coordinator")
    missing = tmp_path / "нет.age"
    junk = tmp_path / "junk.age"
    junk.write_bytes(b"not a bundle at all\n")
    result = run("--lang", "ru", "import", str(missing), str(junk), "--data",
                 str(tmp_path / "c"))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: {missing}: ") and "не существует" in lines[0]
    assert lines[1].startswith(f"error: {junk}: ") and "не пакет Kuager" in lines[1]
    assert "No such file" not in result.stderr and "age file" not in result.stderr
