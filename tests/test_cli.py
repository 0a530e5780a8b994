"""The ``kuager`` command through click's runner: the contract's conventions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app.cli.main import main
from tests.conftest import PASSPHRASE


@pytest.fixture
def runner() -> CliRunner:
    """English messages whatever the machine's locale (tests/test_i18n_cli.py checks the rest)."""
    return CliRunner(env={"LC_ALL": None, "LC_MESSAGES": None, "LANG": "C.UTF-8"})


def run(runner: CliRunner, *args: str, stdin: str = "") -> Result:
    return runner.invoke(main, list(args), input=stdin, catch_exceptions=False)


def init(runner: CliRunner, data: Path, role: str, *extra: str) -> Result:
    result = run(
        runner, "init", "--role", role, "--data", str(data), *extra, stdin=PASSPHRASE + "\n"
    )
    assert result.exit_code == 0, result.output
    return result


def test_init_field_and_refuse_twice(runner: CliRunner, tmp_path: Path) -> None:
    init(runner, tmp_path / "f", "field")
    again = run(
        runner, "init", "--role", "field", "--data", str(tmp_path / "f"), stdin=PASSPHRASE + "\n"
    )
    assert again.exit_code == 1
    assert again.stderr.startswith("error:") and "already exists" in again.stderr
    assert "Traceback" not in again.output


def test_group_level_data_option(runner: CliRunner, tmp_path: Path) -> None:
    result = run(
        runner, "--data", str(tmp_path / "g"), "init", "--role", "field", stdin=PASSPHRASE + "\n"
    )
    assert result.exit_code == 0
    assert (tmp_path / "g" / "kuager.key").exists()


def test_data_from_environment(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUAGER_DATA", str(tmp_path / "env"))
    assert run(runner, "init", "--role", "field", stdin=PASSPHRASE + "\n").exit_code == 0
    assert (tmp_path / "env" / "kuager.key").exists()


def test_coordinator_prints_its_key_last(runner: CliRunner, tmp_path: Path) -> None:
    result = init(runner, tmp_path / "c", "coordinator")
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("age1") and not last.startswith("age1pq")
    keys = run(runner, "pubkey", "--data", str(tmp_path / "c"), stdin=PASSPHRASE + "\n")
    assert keys.stdout.split() == [last]
    # The fingerprint to compare by phone, on stderr (stdout stays the key alone).
    from app.store import keyring
    assert f"Fingerprint of the public key: {keyring.key_fingerprint(last)}" in keys.stderr


FINGERPRINT = r"\d{5}(?: \d{5}){5}"  # as the export, settings and devices pages show it


@pytest.mark.parametrize("extra", [(), ("--hybrid",)], ids=["x25519", "hybrid"])
def test_init_coordinator_says_what_where_and_the_fingerprint(
        runner: CliRunner, tmp_path: Path, extra: tuple[str, ...]) -> None:
    """Issue 14: the fingerprint a monitor compares by phone was never printed."""
    from app.store import keyring

    lines = init(runner, tmp_path / "c", "coordinator", *extra).stdout.splitlines()
    key = lines[-1]
    assert lines[0] == f"Created an encrypted coordinator store in {(tmp_path / 'c').resolve()}"
    assert lines[1] == "Real store (not for training)."
    # The very digits the field's export page shows beside the pasted key.
    assert lines[2] == f"Fingerprint of the public key: {keyring.key_fingerprint(key)}"
    assert re.fullmatch(FINGERPRINT, lines[2].rsplit(": ", 1)[1])
    assert "by phone" in lines[3]


def test_init_field_training_says_what_where_and_the_device_fingerprint(
        runner: CliRunner, tmp_path: Path) -> None:
    from app.config import load_config
    from app.store import device, keyfile
    from app.store.store import KDF_PROFILE, Store

    lines = init(runner, tmp_path / "f", "field", "--training").stdout.splitlines()
    assert lines[0] == f"Created an encrypted field store in {(tmp_path / 'f').resolve()}"
    assert lines[1].startswith("Training store: for fictional data only")
    store = Store(load_config(tmp_path / "f"))
    key = store.check_passphrase(PASSPHRASE)
    store.unlock(PASSPHRASE)
    conn = store.connect()
    try:
        assert lines[2] == f"Device fingerprint: {device.fingerprint(conn)}"
    finally:
        conn.close()
        store.lock()
    assert re.fullmatch(FINGERPRINT, lines[2].rsplit(": ", 1)[1]) and "by phone" in lines[3]
    # The key file's sealed note says training too (a duress unlock keeps the mode).
    slots = keyfile.parse(store.config.key_file.read_bytes(), KDF_PROFILE).slots
    note = keyfile.open_note(key, slots[0].note)
    assert note is not None and (note.role, note.training) == ("field", True)


def test_hybrid_coordinator(runner: CliRunner, tmp_path: Path) -> None:
    result = init(runner, tmp_path / "c", "coordinator", "--hybrid")
    assert result.stdout.strip().splitlines()[-1].startswith("age1pq1")


def test_wrong_passphrase_is_one_error_line(runner: CliRunner, tmp_path: Path) -> None:
    init(runner, tmp_path / "c", "coordinator")
    result = run(runner, "pubkey", "--data", str(tmp_path / "c"), stdin="nope nope nope nope\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: wrong passphrase"


def test_missing_store_and_missing_passphrase(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "reports", "list", "--data", str(tmp_path / "none"), stdin="x\n")
    assert result.exit_code == 1 and "no store" in result.stderr
    init(runner, tmp_path / "f", "field")
    result = run(runner, "reports", "list", "--data", str(tmp_path / "f"), stdin="")
    assert result.exit_code == 1 and "standard input" in result.stderr


def test_usage_error_exits_2(runner: CliRunner) -> None:
    assert run(runner, "init").exit_code == 2
    assert run(runner, "no-such-command").exit_code == 2


def test_recipients(runner: CliRunner, tmp_path: Path) -> None:
    key = init(runner, tmp_path / "c", "coordinator").stdout.strip().splitlines()[-1]
    init(runner, tmp_path / "f", "field")
    added = run(
        runner, "recipients", "add", key, "--data", str(tmp_path / "f"), stdin=PASSPHRASE + "\n"
    )
    assert added.exit_code == 0
    listed = run(
        runner, "recipients", "list", "--data", str(tmp_path / "f"), stdin=PASSPHRASE + "\n"
    )
    assert listed.stdout.split()[0] == key
    bad = run(
        runner,
        "recipients",
        "add",
        "age1notakey",
        "--data",
        str(tmp_path / "f"),
        stdin=PASSPHRASE + "\n",
    )
    assert bad.exit_code == 1 and bad.stderr.startswith("error:")


def test_recipients_refuse_mixing_hybrid_and_classic(runner: CliRunner, tmp_path: Path) -> None:
    classic = init(runner, tmp_path / "c1", "coordinator").stdout.strip().splitlines()[-1]
    hybrid = (
        init(runner, tmp_path / "c2", "coordinator", "--hybrid").stdout.strip().splitlines()[-1]
    )
    init(runner, tmp_path / "f", "field")
    assert (
        run(
            runner,
            "recipients",
            "add",
            classic,
            "--data",
            str(tmp_path / "f"),
            stdin=PASSPHRASE + "\n",
        ).exit_code
        == 0
    )
    mixed = run(
        runner, "recipients", "add", hybrid, "--data", str(tmp_path / "f"), stdin=PASSPHRASE + "\n"
    )
    assert mixed.exit_code == 1 and "mix" in mixed.stderr


def test_wipe_asks_passphrase_then_yes(runner: CliRunner, tmp_path: Path) -> None:
    init(runner, tmp_path / "f", "field")
    declined = run(runner, "wipe", "--data", str(tmp_path / "f"), stdin=PASSPHRASE + "\nno\n")
    assert declined.exit_code == 1 and (tmp_path / "f" / "kuager.key").exists()
    wrong = run(runner, "wipe", "--data", str(tmp_path / "f"), stdin="wrong passphrase!!\nyes\n")
    assert wrong.exit_code == 1 and (tmp_path / "f" / "kuager.key").exists()
    done = run(runner, "wipe", "--data", str(tmp_path / "f"), stdin=PASSPHRASE + "\nyes\n")
    assert done.exit_code == 0
    after = run(runner, "reports", "list", "--data", str(tmp_path / "f"), stdin=PASSPHRASE + "\n")
    assert after.exit_code == 1


def test_identity_export_import(runner: CliRunner, tmp_path: Path) -> None:
    key = init(runner, tmp_path / "c1", "coordinator").stdout.strip().splitlines()[-1]
    init(runner, tmp_path / "c2", "coordinator")
    out = tmp_path / "id.age"
    exported = run(
        runner,
        "identity",
        "export",
        "--out",
        str(out),
        "--data",
        str(tmp_path / "c1"),
        stdin=f"{PASSPHRASE}\nfile passphrase words\n",
    )
    assert exported.exit_code == 0, exported.output
    assert out.read_bytes().startswith(b"age-encryption.org/v1\n-> scrypt ")
    imported = run(
        runner,
        "identity",
        "import",
        str(out),
        "--data",
        str(tmp_path / "c2"),
        stdin=f"{PASSPHRASE}\nfile passphrase words\n",
    )
    assert imported.exit_code == 0, imported.output
    keys = run(
        runner, "pubkey", "--data", str(tmp_path / "c2"), stdin=PASSPHRASE + "\n"
    ).stdout.split()
    assert key in keys and len(keys) == 2
    wrong = run(
        runner,
        "identity",
        "import",
        str(out),
        "--data",
        str(tmp_path / "c2"),
        stdin=f"{PASSPHRASE}\nnot the file passphrase\n",
    )
    assert wrong.exit_code == 1 and wrong.stderr.startswith("error:")


def test_reports_list_json_fields(runner: CliRunner, tmp_path: Path) -> None:
    from app.config import load_config
    from app.records import intake, reports
    from app.store.store import Store

    init(runner, tmp_path / "f", "field")
    store = Store(load_config(tmp_path / "f"))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    body = reports.body_from_form(
        {
            "title": "Қамау",
            "description": "d",
            "occurred_on": "2026-01-12",
            "region": "astana",
            "rights": ["liberty"],
            "acts": ["arrest"],
        }
    )
    intake.save(conn, store.config, body, [])
    conn.close()
    store.lock()
    result = run(
        runner, "reports", "list", "--json", "--data", str(tmp_path / "f"), stdin=PASSPHRASE + "\n"
    )
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 1
    for key in (
        "id",
        "title",
        "description",
        "occurred_on",
        "region",
        "rights",
        "acts",
        "attachments",
    ):
        assert key in objects[0]
    assert objects[0]["title"] == "Қамау" and objects[0]["acts"] == ["arrest"]


def test_help_lists_every_contract_command(runner: CliRunner) -> None:
    text = run(runner, "--help").stdout
    for name in (
        "init",
        "serve",
        "export",
        "import",
        "reports",
        "recipients",
        "identity",
        "pubkey",
        "wipe",
    ):
        assert name in text
