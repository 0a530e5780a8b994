"""The export page: without a coordinator key it points to its own key form (issue 14: it
told a web user to run a command); the bundle destination (removable drives)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
from flask.testing import FlaskClient

from app import i18n
from app.config import Config
from app.store.store import Store
from app.web import drives
from app.web.factory import create_operator_app
from tests import desk_world
from tests.conftest import PASSPHRASE, csrf_token
from tests.test_exchange import init


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "Paste your coordinator's public key"),
    ("kk", "ашық кілтін жоғарыдағы «Алушылар»"),
    ("ru", "Вставьте открытый ключ вашего координатора"),
])
def test_export_without_a_key_points_to_the_key_form(tmp_path: Path, lang: str,
                                                     words: str) -> None:
    init(tmp_path / "f", "field")
    client = desk_world.operator_client(tmp_path / "f")
    desk_world.new_report(client, title="Без ключа")
    usb = tmp_path / "usb"
    usb.mkdir()
    client.get(f"/exchange/export?lang={lang}")
    token = csrf_token(client, "/exchange/export")
    for folder in ("", str(usb)):
        response = client.post("/exchange/export", data={"csrf_token": token, "folder": folder})
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        alert = page.split('role="alert">', 1)[1].split("</p>", 1)[0]
        assert '<a href="#key">' in alert and words in alert
        assert 'id="key"' in page and 'id="recipients"' in page  # the form it points to
        assert "kuager recipients" not in page and "age1..." not in page  # no command
    assert list(usb.iterdir()) == []
    outbox = tmp_path / "f" / "outbox"
    assert not outbox.exists() or list(outbox.iterdir()) == []
    # With the key added on the same page, the same export goes through.
    key = init(tmp_path / "c", "coordinator")
    desk_world.add_recipient(client, key)
    done = client.post("/exchange/export", data={"csrf_token": token, "folder": str(usb)})
    assert done.status_code == 303 and len(list(usb.iterdir())) == 1


# -- the bundle destination -------------------------------------------------------------


@dataclass
class _Usage:
    free: int


def _fake_mounts(monkeypatch: pytest.MonkeyPatch, roots: list[Path]) -> None:
    """Folders directly under ``roots`` stand in for mount points (a temporary folder is
    none); everything else goes through the real ``os.path.ismount``."""
    monkeypatch.setattr(drives, "_is_mount",
                        lambda p: Path(p).parent in roots or os.path.ismount(p))


def test_mounted_drives_under_the_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    media, run_media = tmp_path / "media" / "aigul", tmp_path / "run" / "media" / "aigul"
    for folder in (media / "KINGSTON", media / "Флешка", run_media / "SD", media / ".hidden"):
        folder.mkdir(parents=True)
    (media / "not-a-folder").write_text("x")
    assert drives.mounted_under([media, run_media]) == []  # real check: none is a mount
    _fake_mounts(monkeypatch, [media, run_media])
    found = drives.mounted_under([media, run_media, tmp_path / "missing"])
    assert [d.label for d in found] == ["KINGSTON", "Флешка", "SD"]
    assert all(d.free > 0 and Path(d.path).is_dir() for d in found)


def test_real_mount_points_are_found() -> None:
    if not os.path.ismount("/proc"):
        pytest.skip("no /proc mount here")
    assert "/proc" in [d.path for d in drives.mounted_under([Path("/")])]


def test_linux_roots_are_the_udisks_folders() -> None:
    assert drives.linux_roots("aigul") == [Path("/media/aigul"), Path("/run/media/aigul"),
                                           Path("/media")]


class _Kernel32:
    """GetLogicalDrives / GetDriveTypeW as Windows answers them (C: D: E: F: G:)."""

    TYPES: ClassVar[dict[str, int]] = {"C:\\": 3, "D:\\": 5, "E:\\": 2, "F:\\": 3, "G:\\": 2}

    def GetLogicalDrives(self) -> int:
        return 0b1111100

    def GetDriveTypeW(self, root: str) -> int:
        return self.TYPES[root]


def _windows_usage(root: str) -> _Usage:
    if root == "G:\\":
        raise OSError(21, "The device is not ready")  # a card reader without a card
    return _Usage({"E:\\": 3 * 1024**3, "F:\\": 500 * 1024**3}[root])


def test_windows_drive_letters(monkeypatch: pytest.MonkeyPatch) -> None:
    found = drives.windows_drives(_Kernel32(), _windows_usage, system_drive="C:")
    assert [(d.path, d.label, d.removable) for d in found] == [
        ("E:\\", "E:", True), ("F:\\", "F:", False)]  # not C: (system), D: (CD), G: (empty)
    assert found[0].free == 3 * 1024**3
    # The branch that picks them on Windows.
    import ctypes

    monkeypatch.setattr(ctypes, "windll", SimpleNamespace(kernel32=_Kernel32()), raising=False)
    monkeypatch.setattr(drives.shutil, "disk_usage", _windows_usage)
    monkeypatch.setenv("SYSTEMDRIVE", "C:")
    assert [d.path for d in drives.destinations(platform="win32")] == ["E:\\", "F:\\"]


def _field_with_drives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                       ) -> tuple[FlaskClient, Path, Path]:
    key = init(tmp_path / "c", "coordinator")
    init(tmp_path / "f", "field")
    roots = [tmp_path / "media" / "aigul", tmp_path / "run" / "media" / "aigul"]
    stick = roots[0] / "KINGSTON"
    stick.mkdir(parents=True)
    roots[1].mkdir(parents=True)
    _fake_mounts(monkeypatch, roots)
    store = Store(Config(data_dir=tmp_path / "f"))
    store.unlock(PASSPHRASE)
    client = create_operator_app(store.config, store, {
        "TESTING": True, "KUAGER_MOUNT_ROOTS": [str(r) for r in roots]}).test_client()
    desk_world.add_recipient(client, key)
    return client, stick, roots[1]


def test_export_to_a_listed_drive_is_remembered(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    client, stick, _other = _field_with_drives(tmp_path, monkeypatch)
    desk_world.new_report(client, title="На флешку")
    page = client.get("/exchange/export?lang=ru").get_data(as_text=True)
    free = drives.mounted_under([stick.parent])[0].free
    assert f"KINGSTON: свободно {i18n.format_size(free, 'ru')}" in page
    assert re.search(r'name="destination" id="destination-0" value="" checked', page)
    token = csrf_token(client, "/exchange/export")
    done = client.post("/exchange/export", data={"csrf_token": token,
                                                 "destination": str(stick), "folder": ""})
    assert done.status_code == 303 and len(list(stick.glob("*.age"))) == 1
    again = client.get("/exchange/export").get_data(as_text=True)
    assert f'value="{stick}" checked' in again
    # Remembered inside the encrypted store only: no file of the store names the stick.
    for path in (tmp_path / "f").rglob("*"):
        if path.is_file():
            assert str(stick).encode() not in path.read_bytes(), path


def test_a_typed_folder_wins_and_is_remembered(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    client, stick, _other = _field_with_drives(tmp_path, monkeypatch)
    desk_world.new_report(client, title="В папку")
    typed = tmp_path / "обмен"
    typed.mkdir()
    token = csrf_token(client, "/exchange/export")
    done = client.post("/exchange/export", data={
        "csrf_token": token, "destination": str(stick), "folder": str(typed)})
    assert done.status_code == 303
    assert len(list(typed.glob("*.age"))) == 1 and list(stick.iterdir()) == []
    page = client.get("/exchange/export").get_data(as_text=True)
    assert f'value="{typed}"' in page  # the typed field, filled in again
    assert 'id="destination-0" value="" checked' in page


def test_a_drive_pulled_out_before_export_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, stick, _other = _field_with_drives(tmp_path, monkeypatch)
    desk_world.new_report(client, title="Флешку вынули")
    token = csrf_token(client, "/exchange/export?lang=kk")
    stick.rmdir()  # unmounted: udisks removes the mount point
    refused = client.post("/exchange/export", data={
        "csrf_token": token, "destination": str(stick), "folder": ""})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Бұл диск енді қосылмаған" in page
    assert not stick.exists()
    outbox = tmp_path / "f" / "outbox"
    assert not outbox.exists() or list(outbox.iterdir()) == []


def test_no_drive_mounted_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, stick, _other = _field_with_drives(tmp_path, monkeypatch)
    stick.rmdir()
    page = client.get("/exchange/export?lang=ru").get_data(as_text=True)
    assert "не подключено ни USB-флешки" in page
