"""A lock ends the process that served the unlock, never the onion service (issue 11,
finding 2): tor is run by `kuager serve`'s first process, which never unlocks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .netns import Netns, stop_processes
from .test_tor_dies import start_offline_serve
from .test_tor_serve_e2e import (
    ROOT,
    cli_store,  # noqa: F401 - a fixture, used by name
)

#: Run inside the namespace, where the operator and public ports are: lock the store from
#: the operator pages, then print the status of the public form and of the unlock page.
LOCK_AND_LOOK = """
import sys, time
sys.path.insert(0, {root!r})
from tests.live import Browser
operator, public = Browser(sys.argv[1]), Browser(sys.argv[2])
status, _h, _p = operator.post("/lock", [("csrf_token", operator.csrf("/reports"))])
print(status)
time.sleep(3)
print(public.get("/")[0])
print(operator.get("/unlock")[0])
"""


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def test_the_onion_service_outlives_a_lock(netns: Netns, cli_store: Path) -> None:  # noqa: F811 - the fixture
    server = start_offline_serve(netns, cli_store)
    try:
        assert server.stdout is not None
        operator, public, onion = (server.stdout.readline().strip() for _ in range(3))
        assert onion.endswith(".onion/"), (operator, public, onion)
        kids = _children(server.pid)
        tor = [pid for pid in kids if b"tor" in Path(f"/proc/{pid}/cmdline").read_bytes()
               .split(b"\0")[0]]
        serving = [pid for pid in kids if pid not in tor]
        assert len(tor) == 1 and len(serving) == 1, kids
        looked = subprocess.run(
            netns.argv(sys.executable, "-c", LOCK_AND_LOOK.format(root=str(ROOT)),
                       operator, public),
            capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
        assert looked.returncode == 0, looked.stderr
        # Locked (303); the public form closed, as for any locked store out of inbox mode
        # (503), and the unlock page served by the next process (200).
        assert looked.stdout.split() == ["303", "503", "200"], looked.stdout
        time.sleep(0.5)
        kids = _children(server.pid)
        assert tor[0] in kids, "tor ended with the lock"
        assert serving[0] not in kids and len(kids) == 2, (serving, kids)
        assert server.poll() is None
    finally:
        stop_processes([server])  # type: ignore[list-item]
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()
