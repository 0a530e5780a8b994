"""Nothing readable reaches the disk, not even in a file deleted at once.

A full session runs against a real ``kuager serve`` (cheroot, real sockets): a report whose
text carries a unique marker in Kazakh and Russian, a >1 MB attachment that carries it too,
viewing, downloading, editing, exporting, locking. Then every file under the data folder
and the temporary folder is searched for the marker in UTF-8, UTF-16-LE and UTF-16-BE.
As root, the same session runs on a small ext4 image mounted with ``sync`` and the raw
image (deleted blocks included) is searched too.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live import Browser, Server, child_env, kuager, report_fields

ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")


def markers() -> list[str]:
    tag = secrets.token_hex(6)
    return [f"Куәгер-белгі-{tag}", f"Свидетель-метка-{tag}", f"KUAGERMARK{tag}"]


def needles(words: list[str]) -> list[bytes]:
    return [word.encode(encoding) for word in words for encoding in ENCODINGS]


def full_session(data: Path, tmp: Path, words: list[str]) -> None:
    env = child_env(TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp))
    assert kuager("init", "--role", "field", data=data, env=env).returncode == 0
    coordinator = kuager("init", "--role", "coordinator", data=tmp / "coordinator-store", env=env)
    key = coordinator.stdout.strip().splitlines()[-1]
    assert kuager("recipients", "add", key, data=data, env=env).returncode == 0
    attachment = (words[0] + " " + words[1] + "\n").encode() * 40_000  # > 1 MB, marker inside
    assert len(attachment) > 1_000_000
    with Server(data, env=env) as server:
        browser = Browser(server.read_urls(1)[0])
        description = f"{words[0]} — қамауға алынды. {words[1]} — задержан. {words[2]}"
        status, headers, _ = browser.post(
            "/reports/new",
            report_fields(words[1], description, browser.csrf("/reports/new")),
            [("attachments", f"{words[0]}.txt", attachment)],
        )
        assert status == 303, status
        report = headers["Location"]
        status, _, page = browser.get(report)
        assert status == 200 and words[0].encode() in page
        link = re.search(rb'href="(/reports/[0-9a-f]+/attachments/[0-9a-f]+)"', page)
        assert link
        status, _, downloaded = browser.get(link.group(1).decode())
        assert downloaded == attachment
        fields = report_fields(words[1] + " (edited)", description, browser.csrf(report + "/edit"))
        assert browser.post(report + "/edit", fields)[0] == 303
        status, headers, _ = browser.post("/reports/search", [
            ("q", words[2]), ("csrf_token", browser.csrf("/reports"))])
        assert status == 303 and words[2] not in headers["Location"]
        assert words[2].encode() in browser.get(headers["Location"])[2]
        lock = [("csrf_token", browser.csrf("/reports"))]
        assert browser.post("/lock", lock)[0] == 303
    export = kuager("export", "--out", str(data / "bundle.age"), data=data, env=env)
    assert export.returncode == 0, export.stderr


def files_containing(root: Path, patterns: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            content = path.read_bytes()
            found += [f"{path}: {p!r}" for p in patterns if p in content]
    return found


def test_marker_never_reaches_data_or_temp_folder(tmp_path: Path) -> None:
    data, tmp = tmp_path / "data", tmp_path / "tmp"
    tmp.mkdir()
    words = markers()
    full_session(data, tmp, words)
    patterns = needles(words)
    assert files_containing(data, patterns) == []
    assert files_containing(tmp, patterns) == []


def _can_loop_mount() -> str | None:
    if os.geteuid() != 0:
        return "needs root to loop-mount a disk image"
    for tool in ("mkfs.ext4", "mount", "umount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.mark.needs_root
def test_marker_never_reaches_the_raw_disk(tmp_path: Path) -> None:
    reason = _can_loop_mount()
    if reason:
        if os.environ.get("KUAGER_REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    image, mount = tmp_path / "disk.img", tmp_path / "mnt"
    mount.mkdir()
    with open(image, "wb") as fh:
        fh.truncate(160 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop,sync", str(image), str(mount)], check=True)
    words = markers()
    try:
        (mount / "tmp").mkdir()
        full_session(mount / "data", mount / "tmp", words)
    finally:
        subprocess.run(["umount", str(mount)], check=True)
    raw = image.read_bytes()
    # The test would be worthless if the session left nothing on the disk at all.
    assert b"age-encryption.org/v1" in raw and b"kuager-keywrap/v1" in raw
    for pattern in needles(words):
        assert pattern not in raw, f"plaintext {pattern!r} found on the raw disk image"
