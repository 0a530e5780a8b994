"""The outside interface exactly as ../shared/CONTRACT.md states it, driven from outside.

Real processes only: ``python -m app`` commands, a served instance, and the reference
``age`` tool reading what Kuager writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.live import PASSPHRASE, Browser, Server, kuager

PHOTO = b"\x89PNG\r\n\x1a\n" + b"not really a png, stored as is"
DOCUMENT = "Қаулы және протокол".encode() * 1000


def _contract_fields(csrf: str) -> list[tuple[str, str]]:
    """Only the fields CONTRACT.md names: no submit button, no optional extras."""
    return [("csrf_token", csrf), ("title", "Задержание на пикете"),
            ("description", "Белсенді ұсталды; активиста задержали."),
            ("occurred_on", "2026-01-12"), ("region", "almaty_city"), ("place", "Алматы"),
            ("rights", "assembly"), ("rights", "expression"),
            ("acts", "detention_administrative"), ("acts", "fine")]


def test_field_desk_and_public_site_contract(tmp_path: Path) -> None:
    data = tmp_path / "field"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    with Server(data, "--public-port", "0") as server:
        operator_url, public_url = server.read_urls(2)
        operator = Browser(operator_url)
        status, headers, _ = operator.post(
            "/reports/new", _contract_fields(operator.csrf("/reports/new")),
            [("attachments", "протокол.txt", DOCUMENT), ("attachments", "photo.bin", PHOTO)])
        assert status == 303 and re.fullmatch(r"/reports/[0-9a-f]{32}", headers["Location"])
        assert operator.get(headers["Location"])[0] == 200
        for lang in ("ru", "en", "kk"):
            page = operator.get(f"/reports/new?lang={lang}")[2].decode()
            assert f'<html lang="{lang}">' in page
        assert '<html lang="kk">' in operator.get("/reports")[2].decode()  # remembered

        public = Browser(public_url)
        status, headers, _ = public.post("/", _contract_fields(public.csrf("/")))
        assert status == 303
        assert public.get("/reports")[0] == 404
    listed = [json.loads(line) for line in kuager("reports", "list", "--json", data=data).stdout.splitlines()]
    assert len(listed) == 2
    operator_report = next(r for r in listed if r["attachments"])
    assert operator_report["rights"] == ["assembly", "expression"]
    assert operator_report["acts"] == ["detention_administrative", "fine"]
    assert operator_report["occurred_on"] == "2026-01-12" and operator_report["region"] == "almaty_city"
    by_name = {a["name"]: a for a in operator_report["attachments"]}
    assert by_name["протокол.txt"]["sha256"] == hashlib.sha256(DOCUMENT).hexdigest()
    assert by_name["протокол.txt"]["size"] == len(DOCUMENT)


def _age_decrypt_with_passphrase(age: str, path: Path, passphrase: str) -> bytes:
    """``age -d FILE`` reads the passphrase from the terminal: give it one (a pty)."""
    pid, fd = pty.fork()
    if pid == 0:  # child: becomes age, with the pty as its terminal
        os.execv(age, [age, "-d", str(path)])  # noqa: S606 - no shell: a fixed argument list
    output = b""
    sent = False
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not sent and b"passphrase" in output.lower():
            os.write(fd, passphrase.encode() + b"\n")
            sent = True
    os.waitpid(pid, 0)
    os.close(fd)
    return output


def test_identity_export_opens_with_age_and_decrypts_bundles(tmp_path: Path) -> None:
    age = require_tool("age")
    coordinator, field = tmp_path / "c", tmp_path / "f"
    key = kuager("init", "--role", "coordinator", data=coordinator).stdout.strip().splitlines()[-1]
    assert key.startswith("age1")
    assert kuager("pubkey", data=coordinator).stdout.split() == [key]
    exported = tmp_path / "identity.age"
    result = kuager("identity", "export", "--out", str(exported), data=coordinator,
                    stdin=f"{PASSPHRASE}\nfile passphrase for age\n")
    assert result.returncode == 0, result.stderr
    plain = _age_decrypt_with_passphrase(age, exported, "file passphrase for age")
    secret = re.search(rb"AGE-SECRET-KEY-1[0-9A-Z]+", plain)
    assert secret, plain[-300:]

    assert kuager("init", "--role", "field", data=field).returncode == 0
    assert kuager("recipients", "add", key, data=field).returncode == 0
    assert kuager("recipients", "list", data=field).stdout.split()[0] == key
    bundle = tmp_path / "bundle.age"
    # An export with nothing to seal writes no file (CONTRACT, drafts): write one report.
    assert kuager("export", "--out", str(bundle), data=field).returncode == 1
    assert not bundle.exists()
    from tests.test_exchange import write_report

    write_report(field, "Тест", [])
    result = kuager("export", "--out", str(bundle), data=field)
    assert result.returncode == 0 and result.stdout.strip().splitlines()[-1] == "1"
    identity_file = tmp_path / "id.txt"
    identity_file.write_bytes(secret.group(0) + b"\n")
    opened = subprocess.run([age, "-d", "-i", str(identity_file), str(bundle)],
                            capture_output=True, check=False, timeout=60)
    assert opened.returncode == 0, opened.stderr
    assert b"kuager" in opened.stdout[:4096].lower()


@pytest.mark.parametrize("command", [["reports", "list"], ["pubkey"], ["export", "--out", "x"]])
def test_error_is_one_line_and_exit_1(tmp_path: Path, command: list[str]) -> None:
    result = kuager(*command, data=tmp_path / "nothing-here")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:")
