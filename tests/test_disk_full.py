"""A full disk (ENOSPC, EDQUOT, SQLite's SQLITE_FULL) says so, and what to free; nothing is
half-saved; earlier reports stay intact; and everything works again once space is freed.

Unit tests inject the error where a write happens; ``test_real_disk_full_*`` fills a small
tmpfs the test mounts (root; CI runs as root and turns the skip into a failure).
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3
from click.testing import CliRunner
from flask.testing import FlaskClient

from app.cli.main import main
from app.config import Config
from app.exchange import bundles
from app.messages import is_disk_full
from app.records import attachments, intake
from app.store.spool import EncryptedSpool
from app.store.store import Store
from app.web.factory import create_operator_app, create_public_app
from crypto import keys
from tests.conftest import PASSPHRASE, csrf_token, report_form


def _count(store: Store) -> int:
    conn = store.connect()
    try:
        return conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    finally:
        conn.close()


def _leftovers(config: Config) -> list[str]:
    """Files of the store that no committed row explains: spools, or attachments."""
    names = [p.name for p in config.spool_dir.iterdir()] if config.spool_dir.exists() else []
    return names + ([p.name for p in config.files_dir.iterdir()]
                    if config.files_dir.exists() else [])


def _public_submit(client: FlaskClient, attachment: bytes | None = None, lang: str = "en"
                   ) -> Any:
    data: dict[str, object] = report_form(csrf_token=csrf_token(client, f"/?lang={lang}"))
    if attachment is not None:
        data["attachments"] = (io.BytesIO(attachment), "evidence.bin")
    return client.post("/", data=data, content_type="multipart/form-data")


def _operator_submit(client: FlaskClient, attachment: bytes | None = None, lang: str = "en"
                     ) -> Any:
    data: dict[str, object] = report_form(csrf_token=csrf_token(client,
                                                                f"/reports/new?lang={lang}"))
    data["save"] = "1"
    if attachment is not None:
        data["attachments"] = (io.BytesIO(attachment), "evidence.bin")
    return client.post("/reports/new", data=data, content_type="multipart/form-data")


def _sqlite_full() -> sqlcipher3.OperationalError:
    exc = sqlcipher3.OperationalError("database or disk is full")
    exc.sqlite_errorcode = 13  # type: ignore[attr-defined]  # what SQLite sets
    return exc


FAULTS = {
    "ENOSPC": lambda: OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
    "EDQUOT": lambda: OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)),
    "SQLITE_FULL": _sqlite_full,
}


def test_is_disk_full_knows_the_errors_and_their_causes() -> None:
    assert all(is_disk_full(make()) for make in FAULTS.values())
    wrapped = RuntimeError("export failed")
    wrapped.__cause__ = FAULTS["ENOSPC"]()
    assert is_disk_full(wrapped)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(sqlcipher3.OperationalError("database is locked"))


@pytest.fixture(params=["upload", "row"])
def fail_writes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
                ) -> dict[str, Any]:
    """Make a write fail: while the upload is spooled, or after its file is stored."""
    state: dict[str, Any] = {"fault": None}

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise state["fault"]()

    if request.param == "upload":
        monkeypatch.setattr(EncryptedSpool, "write", fail)
    else:
        monkeypatch.setattr(attachments, "insert_row", fail)
    return state


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("side", ["public", "operator"])
def test_injected_disk_full_says_so_and_saves_nothing(
    side: str, fault: str, *, client: FlaskClient, public_client: FlaskClient,
    field_store: Store, config: Config, fail_writes: dict[str, Any],
) -> None:
    submit = _public_submit if side == "public" else _operator_submit
    web = public_client if side == "public" else client
    fail_writes["fault"] = FAULTS[fault]
    response = submit(web, attachment=b"evidence " * 1000)
    assert response.status_code == 507
    page = response.get_data(as_text=True)
    assert "disk is full" in page
    if side == "operator":
        assert "Free some space" in page and str(config.data_dir) in page
    assert _count(field_store) == 0
    assert _leftovers(config) == []


@pytest.mark.parametrize(("lang", "words"), [("kk", "Диск толып қалды"),
                                             ("ru", "Диск заполнен")])
def test_disk_full_page_in_kazakh_and_russian(
    lang: str, words: str, client: FlaskClient, public_client: FlaskClient,
    fail_writes: dict[str, Any],
) -> None:
    fail_writes["fault"] = FAULTS["ENOSPC"]
    for submit, web in ((_operator_submit, client), (_public_submit, public_client)):
        response = submit(web, attachment=b"x", lang=lang)
        assert response.status_code == 507
        assert words.lower() in response.get_data(as_text=True).lower()


def test_other_os_errors_are_still_a_plain_500(
    public_client: FlaskClient, public_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> str:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(intake, "save_grouped", broken)
    public_app.config["PROPAGATE_EXCEPTIONS"] = False
    response = _public_submit(public_client)
    assert response.status_code == 500
    assert "disk is full" not in response.get_data(as_text=True)


def test_cli_says_the_disk_is_full_in_one_line(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "s" / "kuager.db"))

    monkeypatch.setattr(Store, "create", full)
    result = CliRunner().invoke(main, ["init", "--role", "field", "--data", str(tmp_path / "s")],
                                input=PASSPHRASE + "\n")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the disk is full")
    assert "free some space" in lines[0]
    assert "Traceback" not in result.output


def test_cli_names_no_file_for_a_full_database(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args: Any, **_kwargs: Any) -> None:
        raise _sqlite_full()

    monkeypatch.setattr(Store, "create", full)
    result = CliRunner().invoke(main, ["init", "--role", "field", "--data", str(tmp_path / "s")],
                                input=PASSPHRASE + "\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the disk is full: nothing was saved")


# -- a real full disk ------------------------------------------------------------------------


def _can_mount() -> str | None:
    if os.geteuid() != 0:
        return "needs root to mount a small tmpfs"
    for tool in ("mount", "umount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    reason = _can_mount()
    if reason:
        if os.environ.get("KUAGER_REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(f"{reason} (KUAGER_REQUIRE_SYSTEM_TOOLS=1)")
        pytest.skip(reason)
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mount)],
                   check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _write_until_full(fd: int, size: int) -> None:
    try:
        while True:
            os.write(fd, b"\0" * size)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise


def _fill(disk: Path) -> Path:
    """Write a filler file until the disk refuses another byte."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for size in (65536, 4096, 1):
            _write_until_full(fd, size)
    finally:
        os.close(fd)
    return filler


@pytest.mark.needs_root
def test_real_disk_full_on_submit_then_recovery(small_disk: Path) -> None:
    config = Config(data_dir=small_disk / "store", default_locale="en")
    store = Store(config)
    store.create(PASSPHRASE, "field")
    public = create_public_app(config, store, {"TESTING": True}).test_client()
    operator = create_operator_app(config, store, {"TESTING": True}).test_client()
    assert _public_submit(public, attachment=b"earlier " * 1000).status_code == 303
    assert _operator_submit(operator).status_code == 303
    before = sorted(_leftovers(config))
    filler = _fill(small_disk)
    for submit, web in ((_public_submit, public), (_operator_submit, operator)):
        # Under 500 KB: above that the test client spools its own body to a temporary file.
        for attachment in (os.urandom(400 * 1024), None):
            response = submit(web, attachment=attachment)
            assert response.status_code == 507, response.get_data(as_text=True)[:500]
            assert "disk is full" in response.get_data(as_text=True)
    assert _count(store) == 2
    assert sorted(_leftovers(config)) == before  # nothing half-saved, nothing lost
    filler.unlink()
    assert _public_submit(public, attachment=os.urandom(400 * 1024)).status_code == 303
    assert _operator_submit(operator).status_code == 303
    assert _count(store) == 4


@pytest.mark.needs_root
def test_real_disk_full_in_the_cli(small_disk: Path) -> None:
    filler = _fill(small_disk)
    data = small_disk / "store"
    runner = CliRunner()
    result = runner.invoke(main, ["init", "--role", "field", "--data", str(data)],
                           input=PASSPHRASE + "\n")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: the disk is full")
    assert "Traceback" not in result.output
    assert not (data / "kuager.key").exists()  # nothing half-made
    filler.unlink()
    result = runner.invoke(main, ["init", "--role", "field", "--data", str(data)],
                           input=PASSPHRASE + "\n")
    assert result.exit_code == 0, result.output


def test_export_to_a_full_usb_stick_names_it(tmp_path: Path, client: FlaskClient,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()

    def full(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(usb / ".x.part"))

    monkeypatch.setattr(bundles, "export_bundle", full)
    token = csrf_token(client, "/exchange/export")
    # A coordinator key first: without one the page refuses before writing anything.
    key = str(keys.generate_x25519_identity().recipient())
    client.post("/exchange/recipients", data={"csrf_token": token, "key": key})
    response = client.post("/exchange/export", data={"csrf_token": token, "folder": str(usb)})
    assert response.status_code == 507
    page = response.get_data(as_text=True)
    assert f"The disk that holds {usb} is full" in page and "choose another disk" in page
