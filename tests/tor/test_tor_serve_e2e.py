"""`kuager serve --onion` end to end over the private loopback Tor network: a report sent to
the .onion address lands in the store; operator paths answer 404 through the onion; tor is
gone after Kuager stops."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from .netns import Netns, stop_processes
from .socks import fetch
from .test_tor_e2e import get_with_retry
from .testnet import TorTestNet

pytestmark = [pytest.mark.slow, pytest.mark.needs_root]

PASSPHRASE = "correct horse battery staple onion"
ROOT = Path(__file__).resolve().parents[2]
URL_TIMEOUT = 60.0
TITLE = "Detention at the onion test"


def kuager_argv() -> list[str]:
    """The CLI as installed (`kuager`), else straight from the source tree."""
    installed = Path(sys.executable).with_name("kuager")
    if installed.exists():
        return [str(installed)]
    return [sys.executable, "-c", "from app.cli.main import main; main()"]


def run_kuager(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*kuager_argv(), *args], input=stdin, capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT)


@pytest.fixture
def cli_store() -> Iterator[Path]:
    """A field store under /tmp (tor's control socket path inside it must stay short)."""
    data = Path(tempfile.mkdtemp(prefix="kuager-st-")) / "s"
    result = run_kuager("--data", str(data), "init", "--role", "field", stdin=PASSPHRASE + "\n")
    assert result.returncode == 0, result.stderr
    yield data
    shutil.rmtree(data.parent, ignore_errors=True)


def start_serve(store: Path, netns: Netns, net: TorTestNet) -> subprocess.Popen[str]:
    """`kuager serve --onion` inside the namespace, passphrase on standard input."""
    tor_config = store.parent / "testnet.torrc"
    tor_config.write_text("\n".join(net.testing_torrc()) + "\n", encoding="utf-8")
    env = {**os.environ, "KUAGER_TOR": shutil.which("tor") or "/usr/sbin/tor"}
    server = subprocess.Popen(
        netns.argv(*kuager_argv(), "--data", str(store), "serve", "--onion", "--tor-config",
                   str(tor_config), "--no-browser"),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT, env=env)
    assert server.stdin is not None
    server.stdin.write(PASSPHRASE + "\n")
    server.stdin.close()
    return server


def stop_serve(server: subprocess.Popen[str]) -> str:
    """Stop Kuager (SIGTERM, as systemd does) and return what it wrote on stderr."""
    stop_processes([server])  # type: ignore[list-item]
    err = server.stderr.read() if server.stderr else ""
    for stream in (server.stdout, server.stderr):
        if stream is not None:
            stream.close()
    return err


def _onion_host(server: subprocess.Popen[str]) -> str:
    assert server.stdout is not None
    deadline = time.monotonic() + URL_TIMEOUT
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        if match := re.fullmatch(r"http://([a-z2-7]{56}\.onion)/", line.strip()):
            return match.group(1)
    pytest.fail(f"no onion URL printed: {stop_serve(server)}")


def _submit(net: TorTestNet, host: str) -> int:
    status, headers, body = get_with_retry(net, host, "/")
    assert status == 200
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
    assert token, body[:500]
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    form = urllib.parse.urlencode({
        "csrf_token": token.group(1).decode(), "title": TITLE,
        "description": "Sent through the private Tor network.", "occurred_on": "2025-01-15",
        "region": "almaty_city", "place": "Central square", "rights": "expression",
        "acts": "detention_administrative"}).encode()
    status, _headers, _body = fetch(net.socks_socket, host, "/", method="POST", body=form,
                                    headers={"Cookie": cookie,
                                             "Content-Type": "application/x-www-form-urlencoded"})
    return status


def _tor_processes_for(store: Path) -> list[int]:
    torrc = str(store / "tor" / "torrc").encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if torrc in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait_gone(store: Path, timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _tor_processes_for(store)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_report_sent_to_the_onion_reaches_the_store(
        cli_store: Path, netns: Netns, tor_testnet: TorTestNet) -> None:
    store = cli_store
    server = start_serve(store, netns, tor_testnet)
    try:
        started = time.monotonic()
        host = _onion_host(server)
        print(f"onion URL printed after {time.monotonic() - started:.1f} s")
        assert _submit(tor_testnet, host) in {200, 303}
        print(f"report sent after {time.monotonic() - started:.1f} s")
        for operator_path in ("/reports/new", "/reports", "/unlock", "/settings", "/onion"):
            status, _headers, _body = get_with_retry(tor_testnet, host, operator_path)
            assert status == 404, operator_path
        assert _tor_processes_for(store)
    finally:
        stop_serve(server)
    assert _wait_gone(store) == []
    # The onion key is inside the encrypted database, never in a file of its own.
    assert not list(store.rglob("*hs_ed25519*"))
    reports = run_kuager("--data", str(store), "reports", "list", "--json",
                         stdin=PASSPHRASE + "\n")
    assert reports.returncode == 0, reports.stderr
    titles = [json.loads(line)["title"] for line in reports.stdout.splitlines() if line.strip()]
    assert TITLE in titles
    # Same store, same key: the same address after a restart.
    server = start_serve(store, netns, tor_testnet)
    try:
        assert _onion_host(server) == host
    finally:
        stop_serve(server)
