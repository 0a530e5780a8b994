"""The laptop and the browser (issue 11): what a seized laptop's browser and disk keep.

The real-browser half is in tests/browser/test_profile.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cli import browser
from tests.conftest import csrf_token, report_form
from tests.live import PASSPHRASE, child_env, kuager

MARK = "Жаңаөзенмаркер"
SHM = Path("/dev/shm")  # noqa: S108 (where the launcher must put the profile)


class _Page(HTMLParser):
    """Collects the title, the forms and the text inputs of a page."""

    TEXT_TYPES = frozenset({"text", "search", "email", "password", "url", "tel", "number",
                            "date", None})

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self._in_title = False
        self.forms: list[dict[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "form":
            self.forms.append(found)
        elif (tag == "input" and found.get("type") in self.TEXT_TYPES) or tag == "textarea":
            self.inputs.append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _write_report(client: FlaskClient) -> str:
    token = csrf_token(client, "/reports/new")
    data = report_form(title=MARK + " title", place=MARK + " place", contact=MARK)
    data["victims-0-name"] = MARK + " name"
    response = client.post("/reports/new", data={**data, "csrf_token": token})
    assert response.status_code == 303
    return response.headers["Location"]


#: Pages whose forms this branch owns (the list/search form is the workbench's).
OPERATOR_PAGES = ("/reports/new", "/settings/", "/exchange/export", "/onion")


# -- finding 1: titles, autocomplete, addresses -----------------------------------------


def test_no_page_title_carries_report_text(client: FlaskClient) -> None:
    location = _write_report(client)
    report_id = location.rstrip("/").rsplit("/", 1)[-1]
    assert re.fullmatch(r"[0-9a-f]{32}", report_id), location  # an opaque id, nothing else
    for path in (location, f"{location}/edit", "/reports", *OPERATOR_PAGES, "/no-such-page"):
        response = client.get(path)
        assert response.status_code == (404 if path == "/no-such-page" else 200), path
        html = response.get_data(as_text=True)
        page = _parse(html)
        assert page.title.strip(), path
        assert MARK not in page.title, path
    assert MARK in client.get(location).get_data(as_text=True)  # the page itself shows it




def _check_autocomplete(html: str, where: str) -> None:
    page = _parse(html)
    assert page.forms, where
    for form in page.forms:
        assert form.get("autocomplete") == "off", (where, form)
    for field in page.inputs:
        assert field.get("autocomplete") == "off", (where, field)


def test_every_form_and_text_field_has_autocomplete_off(
        client: FlaskClient, public_client: FlaskClient) -> None:
    location = _write_report(client)
    for path in (*OPERATOR_PAGES, f"{location}/edit", location):
        _check_autocomplete(client.get(path).get_data(as_text=True), path)
    _check_autocomplete(public_client.get("/").get_data(as_text=True), "public /")


def test_locked_pages_have_autocomplete_off_and_generic_titles(
        client: FlaskClient, field_store) -> None:  # type: ignore[no-untyped-def]
    field_store.lock()
    html = client.get("/unlock").get_data(as_text=True)
    _check_autocomplete(html, "/unlock")


# -- finding 1: the private browser -------------------------------------------------------


def test_chromium_argv_is_private_and_profile_in_memory(tmp_path: Path) -> None:
    memory = tmp_path / "shm"
    memory.mkdir()
    warnings: list[str] = []
    plan = browser.plan("http://127.0.0.1:8470/", warnings.append,
                        environ={}, which=lambda name: f"/usr/bin/{name}"
                        if name == "chromium" else None, windows=False, memory=[memory])
    assert plan.kind == "chromium" and warnings == []
    assert plan.profile is not None and plan.profile.parent == memory
    assert stat.S_IMODE(plan.profile.stat().st_mode) == 0o700
    assert plan.argv[0] == "/usr/bin/chromium"
    assert plan.argv[-1] == "http://127.0.0.1:8470/"
    for switch in ("--incognito", f"--user-data-dir={plan.profile}", "--no-first-run",
                   "--disable-sync", "--password-store=basic"):
        assert switch in plan.argv


def test_firefox_argv_is_private_with_a_throwaway_profile(tmp_path: Path) -> None:
    plan = browser.plan("http://127.0.0.1:1/", [].append, environ={},
                        which=lambda name: "/usr/bin/firefox" if name == "firefox" else None,
                        windows=False, memory=[tmp_path])
    assert plan.kind == "firefox" and plan.profile is not None
    assert plan.argv == ["/usr/bin/firefox", "--no-remote", "--new-instance", "--profile",
                         str(plan.profile), "--private-window", "http://127.0.0.1:1/"]
    prefs = (plan.profile / "user.js").read_text()
    assert 'user_pref("browser.cache.disk.enable", false);' in prefs
    assert 'user_pref("browser.formfill.enable", false);' in prefs


def test_memory_dirs_are_only_tmpfs(tmp_path: Path) -> None:
    disk, shm = tmp_path / "disk", tmp_path / "run"
    disk.mkdir()
    shm.mkdir()
    mounts = {str(tmp_path): "ext4", str(shm): "tmpfs", str(SHM): "tmpfs"}
    found = browser.memory_dirs({"XDG_RUNTIME_DIR": str(shm)}, mounts)
    assert shm in found
    assert browser.memory_dirs({"XDG_RUNTIME_DIR": str(disk)}, mounts) == [
        path for path in found if path != shm]


def test_windows_and_no_tmpfs_get_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    folder = browser.make_profile_dir(warnings.append, windows=True)
    try:
        assert len(warnings) == 1 and "temporary folder" in warnings[0]
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    finally:
        folder.rmdir()


def test_no_private_browser_falls_back_with_a_warning() -> None:
    warnings: list[str] = []
    plan = browser.plan("http://127.0.0.1:1/", warnings.append, environ={},
                        which=lambda _name: None, windows=False, memory=[])
    assert plan.kind == "default" and plan.profile is None
    assert len(plan.warnings) == 1 and "default browser" in plan.warnings[0]


FAKE_BROWSER = """\
#!{python}
import json, sys, time, pathlib
pathlib.Path({record!r}).write_text(json.dumps(sys.argv))
profile = [a for a in sys.argv if a.startswith("--user-data-dir=")][0].split("=", 1)[1]
(pathlib.Path(profile) / "History").write_text("browser data")
time.sleep(120)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in")
def test_serve_starts_the_private_browser_and_removes_its_profile(tmp_path: Path) -> None:
    data = tmp_path / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    record = tmp_path / "argv.json"
    fake = tmp_path / "bin" / "chromium"
    fake.parent.mkdir()
    fake.write_text(FAKE_BROWSER.format(python=sys.executable, record=str(record)))
    fake.chmod(0o700)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--data", str(data), "serve", "--port", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=child_env(KUAGER_BROWSER=str(fake)))
    try:
        assert proc.stdin and proc.stdout
        proc.stdin.write(PASSPHRASE + "\n")
        proc.stdin.close()
        url = proc.stdout.readline().strip()
        for _ in range(600):  # bounded wait for the fake browser to start
            if record.exists() and record.read_text():
                break
            time.sleep(0.05)
        argv = json.loads(record.read_text())
        assert argv[-1] == url and "--incognito" in argv
        profile = Path(next(a for a in argv if a.startswith("--user-data-dir=")).split("=", 1)[1])
        assert (profile / "History").exists()
        if SHM.is_dir():
            assert profile.parent == SHM
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        stderr = proc.stderr.read() if proc.stderr else ""
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert not profile.exists(), "the browser profile outlived kuager serve"
    assert "Traceback" not in stderr


# -- quick exit ------------------------------------------------------------------------


def _quick_exit_form(html: str) -> str:
    match = re.search(r'<form[^>]*action="(/leave)"[^>]*>.*?</form>', html, re.S)
    assert match, "no quick exit on the page"
    assert "<script" not in match.group(0)
    return match.group(1)


def test_every_operator_page_has_a_quick_exit(client: FlaskClient) -> None:
    location = _write_report(client)
    for path in (*OPERATOR_PAGES, "/reports", location, f"{location}/edit"):
        assert _quick_exit_form(client.get(path).get_data(as_text=True)) == "/leave", path


def test_quick_exit_locks_and_leaves_for_an_empty_page(
        client: FlaskClient, field_store) -> None:  # type: ignore[no-untyped-def]
    location = _write_report(client)
    response = client.post("/leave")  # no token needed: a page open for hours still works
    assert response.status_code == 303 and response.headers["Location"] == "/blank"
    assert not field_store.is_unlocked
    blank = client.get("/blank")
    html = blank.get_data(as_text=True)
    page = _parse(html)
    assert blank.status_code == 200 and page.title == "New tab"
    assert "Kuager" not in html and MARK not in html and "<form" not in html
    assert blank.headers["Cache-Control"].startswith("no-store")
    # Going back shows the unlock page, never the report.
    back = client.get(location)
    assert back.status_code == 302 and back.headers["Location"].startswith("/unlock")


def test_quick_exit_from_another_site_does_not_lock(
        client: FlaskClient, field_store) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/leave", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 303 and field_store.is_unlocked


def test_quick_exit_in_kazakh_and_russian(client: FlaskClient) -> None:
    for lang, label in (("kk", "Жылдам шығу"), ("ru", "Быстрый выход")):
        assert label in client.get(f"/reports/new?lang={lang}").get_data(as_text=True)


# -- finding 10: loopback only -----------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])  # noqa: S104 (refused)
def test_serve_refuses_a_host_others_can_reach(tmp_path: Path, host: str) -> None:
    data = tmp_path / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    result = kuager("serve", "--host", host, "--port", "0", "--no-browser", data=data)
    assert result.returncode == 2
    assert "--allow-non-loopback" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""  # nothing served, no URL printed


def test_the_named_option_allows_one_address_with_a_warning() -> None:
    import click

    from app.cli.serve import check_host

    assert check_host("127.0.0.1", allow=False) == []
    assert check_host("::1", allow=False) == []
    assert check_host("localhost", allow=False) == []
    warnings = check_host("192.168.1.20", allow=True)
    assert len(warnings) == 1 and "192.168.1.20" in warnings[0]
    with pytest.raises(click.UsageError):
        check_host("0.0.0.0", allow=True)  # noqa: S104 (a wildcard: refused)


def test_a_network_client_claiming_loopback_host_is_refused(client: FlaskClient) -> None:
    lan = {"REMOTE_ADDR": "192.168.1.7"}
    assert client.get("/reports", headers={"Host": "127.0.0.1:8470"},
                      environ_base=lan).status_code == 400
    assert client.get("/reports", headers={"Host": "localhost"},
                      environ_base=lan).status_code == 400
    assert client.get("/reports", headers={"Host": "127.0.0.1:8470"}).status_code == 200
    mapped = {"REMOTE_ADDR": "::ffff:127.0.0.1"}
    assert client.get("/reports", headers={"Host": "127.0.0.1:8470"},
                      environ_base=mapped).status_code == 200


def test_with_the_option_a_network_client_must_name_the_served_address(
        config, field_store) -> None:  # type: ignore[no-untyped-def]
    from app.web.factory import create_operator_app

    app = create_operator_app(config, field_store, {
        "TESTING": True, "KUAGER_ALLOW_NON_LOOPBACK": True,
        "KUAGER_ALLOWED_HOSTS": {"127.0.0.1", "localhost", "192.0.2.10"}})
    client = app.test_client()
    lan = {"REMOTE_ADDR": "192.0.2.55"}
    assert client.get("/reports", headers={"Host": "192.0.2.10:8470"},
                      environ_base=lan).status_code == 200
    assert client.get("/reports", headers={"Host": "127.0.0.1:8470"},
                      environ_base=lan).status_code == 400


# -- finding 12: active attachments --------------------------------------------------------


def _report_with(client: FlaskClient, files: list[tuple[bytes, str]]) -> tuple[str, dict[str, str]]:
    """The report's id and {attachment name: download path}."""
    import io

    data = report_form()
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["attachments"] = [(io.BytesIO(content), name) for content, name in files]
    response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    location = response.headers["Location"]
    page = client.get(location).get_data(as_text=True)
    links = dict((name, path) for path, name in re.findall(
        r'<a href="(/reports/[0-9a-f]+/attachments/[0-9a-f]+)">([^<]+)</a>', page))
    return location, links


ACTIVE = [(b"<script>alert(1)</script>", "page.html"),
          (b"<svg onload=alert(1)></svg>", "Сурет.SVG"),
          (b"MZ\x90\x00", "шарт.pdf.exe"),
          (b"MZ\x90\x00", "evil.exe."),
          (b"Sub AutoOpen()", "протокол.docm"),
          (b"[InternetShortcut]", "link.lnk")]


@pytest.mark.parametrize(("content", "name"), ACTIVE)
def test_active_attachment_warns_before_download(
        client: FlaskClient, content: bytes, name: str) -> None:
    _location, links = _report_with(client, [(content, name)])
    (stored_name, path), = links.items()
    warning = client.get(path)
    html = warning.get_data(as_text=True)
    assert warning.status_code == 200 and warning.mimetype == "text/html"
    assert "Content-Disposition" not in warning.headers
    assert "not connected to the Internet" in html and "<script" not in html
    assert content.decode(errors="replace") not in html
    _check_autocomplete(html, path)
    assert client.post(path).status_code == 400  # the button carries a CSRF token
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    download = client.post(path, data={"csrf_token": token.group(1)})
    assert download.status_code == 200 and download.data == content
    assert download.mimetype == "application/octet-stream"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="attachment"; ')
    from urllib.parse import unquote

    assert unquote(disposition.split("''", 1)[1]) == stored_name  # the name, unchanged


def test_ordinary_attachment_downloads_at_once_and_no_extension_is_guessed(
        client: FlaskClient) -> None:
    _location, links = _report_with(client, [(b"%PDF-1.4", "акт.pdf"),
                                             (b"<html>", "README")])
    for name, path in links.items():
        response = client.get(path)
        assert response.status_code == 200, name
        assert response.mimetype == "application/octet-stream"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert 'filename="attachment";' in disposition  # no extension for the fallback
        if name == "README":
            assert disposition.endswith("''README")


def test_active_extension_list() -> None:
    from app.records.attachments import is_active

    for name in ("a.HTML", "b.htm", "c.svg", "d.js", "e.hta", "f.bat", "g.cmd", "h.scr",
                 "i.lnk", "j.docm", "k.xlsm", "l.exe", "m.exe. ", "фото.jpg.exe"):
        assert is_active(name), name
    for name in ("фото.jpg", "акт.pdf", "видео.mp4", "notes.txt", "README", "exe"):
        assert not is_active(name), name
    assert is_active("picture", "image/svg+xml")


# -- finding 4: image decoding is bounded ---------------------------------------------------


def _huge_png(width: int, height: int) -> bytes:
    """An RGBA PNG of zeros, built row by row: a few hundred KB claiming width × height."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 4)
    parts = [compressor.compress(row) for _ in range(height)]
    idat = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


#: 6300 × 6300 = 39.69 Mpixel: the reviewer's image (under the old 40 Mpixel public limit).
REVIEW_PNG = (6300, 6300)


def _rss_now() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def review_png() -> bytes:
    png = _huge_png(*REVIEW_PNG)
    assert len(png) < 400_000
    return png


def test_public_image_over_24_mpixel_is_kept_as_sent_without_decoding(
        public_client: FlaskClient, field_store, review_png: bytes) -> None:  # type: ignore[no-untyped-def]
    from app.records import attachments

    attachments.worker_stats["peak_rss"] = None
    data = report_form(attachments=[(__import__("io").BytesIO(review_png), "big.png")])
    data["csrf_token"] = csrf_token(public_client, "/")
    data["save"] = "1"
    assert public_client.post("/", data=data, content_type="multipart/form-data").status_code == 303
    conn = field_store.connect()
    row = conn.execute("SELECT metadata_removed, size FROM attachments").fetchone()
    conn.close()
    assert row["metadata_removed"] == 0 and row["size"] == len(review_png)
    # Refused from its header: the worker never held the pixels (39.7 M × 4 = 159 MB).
    peak = attachments.worker_stats["peak_rss"]
    if sys.platform.startswith("linux"):
        assert peak is not None and peak < 100 * 1024 * 1024, peak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_decoding_a_large_image_costs_the_worker_not_the_server(
        client: FlaskClient, field_store, review_png: bytes) -> None:  # type: ignore[no-untyped-def]
    """The operator side still cleans 39.7 Mpixel: in the worker, within its limit."""
    from app.records import attachments, image_worker

    attachments.worker_stats["peak_rss"] = None
    before = _rss_now()
    data = report_form(attachments=[(__import__("io").BytesIO(review_png), "big.png")])
    data["csrf_token"] = csrf_token(client, "/reports/new")
    data["save"] = "1"
    assert client.post("/reports/new", data=data,
                       content_type="multipart/form-data").status_code == 303
    conn = field_store.connect()
    row = conn.execute("SELECT metadata_removed FROM attachments").fetchone()
    conn.close()
    assert row["metadata_removed"] == 1  # it was cleaned
    cost = image_worker.decoded_bytes(*REVIEW_PNG, 4)
    peak = attachments.worker_stats["peak_rss"]
    assert peak is not None
    assert cost < peak <= image_worker.BASE_ADDRESS_SPACE + image_worker.PIXEL_COPIES * cost
    # The server process itself never held the pixels.
    assert _rss_now() - before < 64 * 1024 * 1024
    print(f"\n39.7 Mpixel PNG ({len(review_png)} bytes): worker peak RSS {peak / 2**20:.0f} MiB, "
          f"server grew {(_rss_now() - before) / 2**20:.0f} MiB")


def test_worker_address_space_limit_contains_the_decoder() -> None:
    """A decode that needs more than the limit dies in the worker, not in the server."""
    from app.records import attachments

    png = _huge_png(3000, 3000)  # 9 Mpixel: 36 MB decoded
    output, status = attachments.run_worker(png, "PNG", 120_000_000, 8_000_000)
    assert status == 2 and output == b""  # over the byte budget: refused from the header
    output, status = attachments.run_worker(png, "PNG", 120_000_000, 120_000_000 * 4)
    assert status == 0 and output.startswith(b"\x89PNG")


def test_at_most_one_image_is_decoded_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from app.records import attachments

    running, most = [0], [0]
    guard = threading.Lock()
    release = threading.Event()

    def fake_worker(data: bytes, fmt: str, max_pixels: int, max_bytes: int):  # type: ignore[no-untyped-def]
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(0.2)
        with guard:
            running[0] -= 1
        return b"\x89PNG", 0

    monkeypatch.setattr(attachments, "run_worker", fake_worker)
    threads = [threading.Thread(target=attachments.clean_image, args=(b"x", "PNG"))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert most[0] == attachments.CLEAN_CONCURRENCY == 1


# -- finding 6: deeply nested JSON in a signed bundle ----------------------------------------


def test_deeply_nested_json_is_one_error_line_and_other_bundles_import(
        tmp_path: Path) -> None:
    from tests.test_hostile_input import _bundle, _document

    data = tmp_path / "c"
    init = kuager("init", "--role", "coordinator", data=data)
    assert init.returncode == 0
    from crypto import keys

    recipient = keys.parse_recipient(init.stdout.strip().splitlines()[-1])
    deep, good = tmp_path / "deep.age", tmp_path / "good.age"
    nested = b'{"report": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    _bundle(deep, recipient, {"report-" + "b" * 32 + ".json": nested})
    _bundle(good, recipient, {"report-" + "a" * 32 + ".json": _document("Жақсы хабарлама")})
    result = kuager("import", str(deep), str(good), data=data)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {deep}: a report in the bundle is malformed (nested too deeply)"]
    listed = kuager("reports", "list", "--json", data=data)
    titles = [json.loads(line)["title"] for line in listed.stdout.splitlines()]
    assert titles == ["Жақсы хабарлама"]


def test_json_depth_ignores_brackets_in_strings() -> None:
    from app.exchange import schema

    assert schema.json_depth(b'{"a": [1, {"b": "[[[[\\" ]]"}]}') == 3
    assert schema.json_depth(b"[" * 33 + b"]" * 33) == 33
    with pytest.raises(schema.ImportRefused):
        schema.loads(b"[" * 33 + b"]" * 33)
    value = schema.loads(b"[" * 32 + b"]" * 32)
    for _ in range(31):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == []


# -- finding 2: what is left in memory after "Lock now" ---------------------------------------


def _readable_regions(pid: int) -> list[tuple[int, int]]:
    regions = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split()
        start, end = (int(x, 16) for x in fields[0].split("-"))
        name = fields[5] if len(fields) > 5 else ""
        if fields[1].startswith("r") and name not in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
            regions.append((start, end))
    return regions


def _scan(pid: int, needles: dict[str, bytes]) -> dict[str, int]:
    """How many times each needle occurs in the readable memory of ``pid`` (root only)."""
    counts = dict.fromkeys(needles, 0)
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for start, end in _readable_regions(pid):
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            for name, needle in needles.items():
                counts[name] += data.count(needle)
    return counts


def _status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def _hardened(pid: int) -> None:
    """No core file, not dumpable (so /proc/PID/mem is root's only)."""
    limits = Path(f"/proc/{pid}/limits").read_text().splitlines()
    core = next(line for line in limits if line.startswith("Max core file size"))
    assert core.split()[4] == "0", core
    assert Path(f"/proc/{pid}/mem").stat().st_uid == 0


@pytest.mark.slow
@pytest.mark.needs_root
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/mem")
def test_after_lock_no_copy_of_the_key_or_of_a_report_is_left_in_memory(tmp_path: Path) -> None:
    """Scans every readable page of every process of ``kuager serve`` after "Lock now".

    The process that served the unlock held the key and the report; it has ended. Neither
    the first process (which never unlocks) nor the one serving now (started locked) holds
    the key (raw or hex), the passphrase, or the report's text.
    """
    if os.geteuid() != 0:
        message = "reading another process's memory needs root"
        if os.environ.get("KUAGER_REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from app.store import keyfile
    from crypto import keywrap
    from tests.live import Browser, Server, report_fields
    from tests.test_serve_lock import alive, serving_child, wait_for

    data = tmp_path / "f"
    assert kuager("init", "--role", "field", data=data).returncode == 0
    slots = keyfile.parse((data / "kuager.key").read_bytes(), keywrap.ARGON2ID_V1)
    key = keywrap.unwrap_key(slots.slots[0].blob, PASSPHRASE)
    marker = "Жаңаөзенжадмаркер"
    needles = {"key": key, "hex": key.hex().encode(), "HEX": key.hex().upper().encode(),
               "marker": marker.encode(), "passphrase": PASSPHRASE.encode()}
    with Server(data) as server:
        (url,) = server.read_urls(1)
        first, unlocked = server.proc.pid, serving_child(server)
        for pid in (first, unlocked):
            _hardened(pid)
        browser = Browser(url)
        status, headers, _ = browser.post(
            "/reports/new", report_fields(marker, marker + " сипаттама",
                                          browser.csrf("/reports/new")))
        assert status == 303
        assert marker.encode() in browser.get(headers["Location"])[2]
        before = _scan(unlocked, needles)
        assert browser.post("/lock", [("csrf_token", browser.csrf("/reports"))])[0] == 303
        assert wait_for(lambda: not alive(unlocked)), "the unlocked process outlived the lock"
        locked = serving_child(server, other_than=unlocked)
        _hardened(locked)
        after = {"first": _scan(first, needles), "serving": _scan(locked, needles)}
    print(f"\nmemory of the process that served the unlock: {before}; after Lock now: "
          f"{after} (that process has ended)")
    assert before["marker"] > 0  # the scan sees a process's memory
    for counts in after.values():
        assert counts == dict.fromkeys(needles, 0), after


def test_lock_message_says_only_what_is_true(client: FlaskClient) -> None:
    token = csrf_token(client, "/reports/new")
    page = client.post("/lock", data={"csrf_token": token}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "Every key has been dropped" not in text
    assert "erased from memory" in text and "may remain" in text


def test_serve_hardening_reports_what_it_did() -> None:
    code = ("import json, pathlib; from app.cli.serving import harden_process; d = harden_process();"
            " d['limits'] = pathlib.Path('/proc/self/limits').read_text(); print(json.dumps(d))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    done = json.loads(result.stdout)
    assert done["core"] is (sys.platform != "win32")
    if sys.platform.startswith("linux"):
        assert done["dumpable"]
        core = next(line for line in done["limits"].splitlines()
                    if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"], core


# -- finding 11: dependencies locked with hashes --------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock_entries(path: Path) -> dict[str, tuple[str, list[str]]]:
    """{name: (version, [hashes])} of a pip-compile --generate-hashes file."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        requirement = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", raw)
        if requirement:
            current = _normalise(requirement.group(1))
            entries[current] = (requirement.group(2), [])
        elif line.startswith("--hash=sha256:"):
            assert current, f"{path.name}: a hash before any requirement"
            digest = line.removeprefix("--hash=sha256:").rstrip(" \\")
            assert re.fullmatch(r"[0-9a-f]{64}", digest), line
            entries[current][1].append(digest)
        else:
            raise AssertionError(f"{path.name}: unexpected line {raw!r}")
    return entries


def test_lock_files_cover_pyproject_and_every_entry_has_a_hash() -> None:
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    test_extra = [Requirement(r) for r in project["optional-dependencies"]["test"]]
    for lock, wanted in (("requirements.lock", runtime),
                         ("requirements-test.lock", runtime + test_extra)):
        entries = _lock_entries(ROOT / lock)
        assert entries, lock
        for name, (version, hashes) in entries.items():
            assert hashes, f"{lock}: {name}=={version} has no hash"
        for requirement in wanted:
            name = _normalise(requirement.name)
            assert name in entries, f"{lock} lacks {name}"
            assert requirement.specifier.contains(entries[name][0], prereleases=True), (
                f"{lock}: {name}=={entries[name][0]} outside pyproject's {requirement.specifier}")
    runtime_lock = _lock_entries(ROOT / "requirements.lock")
    test_lock = _lock_entries(ROOT / "requirements-test.lock")
    for name, (version, _hashes) in runtime_lock.items():
        assert test_lock.get(name, (version,))[0] == version, name  # the same pins


def test_make_setup_installs_with_require_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-test.lock" in makefile
    assert "--no-deps -e ." in makefile
    assert "-e '.[test]'" not in makefile  # not resolving unpinned versions any more


def _depth_of(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth_of, value), default=0)
    return 0


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ aЖ\n'),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet='[]{}"\\ aЖ', max_size=3), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_VALUES, chunk=st.sampled_from([1, 2, 3, 7, 64 * 1024]))
def test_json_depth_is_exact_on_valid_json_across_chunk_boundaries(value: object,
                                                                  chunk: int) -> None:
    """Brackets, quotes and backslashes inside strings, strings cut by a chunk boundary."""
    from app.exchange import schema

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schema, "_DEPTH_CHUNK", chunk)
        for ensure_ascii in (True, False):
            raw = json.dumps(value, ensure_ascii=ensure_ascii).encode()
            assert schema.json_depth(raw) == _depth_of(value)


def test_a_crafted_entry_of_escaped_quotes_is_refused_in_linear_time(
    tmp_path: Path,
) -> None:
    """An unterminated string of ``\\"`` pairs made the old string-skipping regex restart at
    every quote: 13 s for 8 KB, 39 s for 32 KB, hours for 1 MiB (security review). Now the
    whole 4 MiB entry (the largest allowed) is refused long before the test gives up."""
    from app.exchange.staging import MAX_REPORT_ENTRY
    from tests.test_hostile_input import _bundle

    data = tmp_path / "coordinator"
    init = kuager("init", "--role", "coordinator", data=data)
    assert init.returncode == 0
    from crypto import keys

    recipient = keys.parse_recipient(init.stdout.strip().splitlines()[-1])
    crafted = b'"' + b'\\"' * ((MAX_REPORT_ENTRY - 1) // 2)
    assert len(crafted) <= MAX_REPORT_ENTRY
    bundle = tmp_path / "crafted.age"
    _bundle(bundle, recipient, {"report-" + "c" * 32 + ".json": crafted})
    result = kuager("import", str(bundle), data=data)  # gives up after 120 s
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "malformed" in result.stderr


NO_CAPABILITIES = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


def _readable_without_privileges(pid: int) -> bool:
    """Can a program of the same user, without capabilities, open ``pid``'s memory?
    (``setpriv`` drops every capability: the tests run as root.)"""
    reader = subprocess.run(
        [*NO_CAPABILITIES, sys.executable, "-c",
         f"open('/proc/{pid}/mem', 'rb').close()"], capture_output=True, text=True, check=False,
        timeout=60)
    return reader.returncode == 0


@pytest.mark.needs_root
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_DUMPABLE is Linux's")
@pytest.mark.parametrize("worker", ["image", "scrub"])
def test_cleaning_workers_cannot_be_read_by_another_program_of_the_user(worker: str) -> None:
    """The workers hold a decrypted upload: like the serving process they are not
    dumpable (exec made them dumpable again), so ``/proc/PID/mem`` is closed to programs
    of the same user (review finding 4 of the serve split)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        message = "needs root and setpriv to read as a program without privileges"
        if os.environ.get("KUAGER_REQUIRE_SYSTEM_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from app.records import image_worker, scrub

    script = Path(image_worker.__file__ if worker == "image" else scrub.__file__)
    args = ["png", "1000", "1000000"] if worker == "image" else ["pdf", "1000"]
    # The worker sets itself up, then waits for the upload on its standard input. Both it
    # and the reader run without capabilities, as a user's programs do (a process with
    # capabilities the reader lacks is closed to it anyway).
    proc = subprocess.Popen([*NO_CAPABILITIES, sys.executable, "-I", str(script), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    control = subprocess.Popen([*NO_CAPABILITIES, sys.executable, "-I", "-c",
                                "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{proc.pid}/wchan").read_text() not in ("pipe_read", "pipe_wait", "anon_pipe_read"):
            assert time.monotonic() < deadline, "the worker never waited for its input"
            time.sleep(0.05)
        assert _readable_without_privileges(control.pid)  # the check can see a difference
        assert not _readable_without_privileges(proc.pid)
    finally:
        for p in (proc, control):
            p.kill()
            p.communicate()
