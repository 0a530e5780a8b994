"""When the onion's tor dies, `kuager serve --onion` stops loudly instead of serving nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .netns import Netns, stop_processes
from .test_tor_serve_e2e import (
    PASSPHRASE,
    ROOT,
    cli_store,  # noqa: F401 - a fixture, used by name
    kuager_argv,
)


def start_offline_serve(netns: Netns, store: Path) -> subprocess.Popen[str]:
    """``kuager serve --onion`` in the namespace with tor offline (DisableNetwork), the
    passphrase given on standard input."""
    config = store.parent / "offline.torrc"
    config.write_text("DisableNetwork 1\n", encoding="utf-8")
    env = {**os.environ, "KUAGER_TOR": shutil.which("tor") or "/usr/sbin/tor"}
    server = subprocess.Popen(
        netns.argv(*kuager_argv(), "--data", str(store), "serve", "--onion", "--tor-config",
                   str(config), "--no-browser", "--port", "0"),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT, env=env)
    assert server.stdin is not None
    server.stdin.write(PASSPHRASE + "\n")
    server.stdin.close()
    return server


def test_serve_stops_with_an_error_when_tor_dies(netns: Netns, cli_store: Path) -> None:  # noqa: F811 - the fixture
    server = start_offline_serve(netns, cli_store)
    try:
        assert server.stdout is not None
        urls = [server.stdout.readline().strip() for _ in range(3)]
        assert urls[-1].endswith(".onion/"), urls
        tor = subprocess.run(["pgrep", "-f", f"{cli_store}/tor"], capture_output=True,
                             text=True, check=False).stdout.split()
        assert tor, "the tor started by Kuager was not found"
        for pid in tor:
            os.kill(int(pid), signal.SIGKILL)
        deadline = time.monotonic() + 20
        while server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.returncode == 1
        assert server.stderr is not None
        err = server.stderr.read()
        assert "error: tor stopped" in err and "Traceback" not in err
    finally:
        stop_processes([server])  # type: ignore[list-item]
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()
