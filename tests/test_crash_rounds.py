"""Crash rounds: kill -9 at random and at targeted moments during submit, export and import.

Each round runs one real process (``kuager serve`` taking submissions over HTTP,
``kuager export`` with or without ``--purge``, ``kuager import``) and kills it with
SIGKILL: after a random delay, or at a named moment (``KUAGER_FAULT_POINT``, see
``app.store.fsutil.fault_point``). After every round both stores open, their open-time
sweep leaves no orphan file and no spool, and every report the server acknowledged
(answered 303) is present at most once and intact. At the end one clean export and one
clean import of every bundle on the stick must bring every acknowledged report to the
coordinator (or leave it on the device): none lost, none stranded, none twice.

``KUAGER_CRASH_SEED`` replays a run; the seed is printed in every failure message.
docs/RELIABILITY.md gives the figures of the last run (``make reliability``).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.config import Config
from app.store import sweep
from app.store.store import Store
from tests.conftest import PASSPHRASE
from tests.live import Browser, Server, child_env, kill_serve, report_fields
from tests.test_exchange import init, run

SEED = int(os.environ.get("KUAGER_CRASH_SEED") or random.SystemRandom().randrange(1 << 30))
#: What ``kuager export`` would seal (app/exchange/exporter.py): unsent, and not a draft.
SELECT_UNSENT = ("SELECT id FROM reports WHERE exported_in IS NULL AND status != 'draft'"
                 " UNION SELECT id FROM inbox WHERE exported_in IS NULL")
#: Where the figures of a run go, for docs/RELIABILITY.md (``make reliability``).
REPORT_FILE = os.environ.get("KUAGER_RELIABILITY_OUT")

# (operation, fault point or None for a kill after a random delay, --purge)
ROUNDS: list[tuple[str, str | None, bool]] = [
    ("submit", None, False),
    ("submit", "spool-adopted:2", False),
    ("export", "export-published", True),
    ("export", None, False),
    ("import", "import-applied", False),
    ("submit", None, False),
    ("export", "export-sealed", False),
    ("export", None, True),
    ("import", None, False),
    ("export", "export-reserved", True),
    ("import", "spool-adopted:2", False),
    ("submit", "spool-adopted:3", False),
    ("export", None, True),
    ("import", "import-staged", False),
    ("import", None, False),
]


@dataclass
class World:
    field: Path
    coordinator: Path
    usb: Path
    rng: random.Random
    #: title -> (description, SHA-256 of the attachment): what the server acknowledged.
    acknowledged: dict[str, tuple[str, str]] = field(default_factory=dict)
    log: list[dict[str, object]] = field(default_factory=list)
    serial: int = 0


def _why(world: World) -> str:
    return f"(KUAGER_CRASH_SEED={SEED}; rounds so far: {json.dumps(world.log)})"


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)




def submit_round(world: World, fault: str | None) -> dict[str, object]:
    env = child_env(KUAGER_FAULT_POINT=fault) if fault else child_env()
    sizes = [world.rng.randrange(1, 200_000) for _ in range(40)]
    acked: list[str] = []
    with Server(world.field, env=env) as server:
        browser = Browser(server.read_urls(1)[0])
        token = browser.csrf("/reports/new")

        def post_all() -> None:
            for size in sizes:
                world.serial += 1
                title = f"Отчёт {world.serial}"
                description = f"round report {world.serial}: {os.urandom(8).hex()}"
                content = os.urandom(size)
                try:
                    status = browser.post(
                        "/reports/new",
                        report_fields(title, description, token),
                        [("attachments", f"{world.serial}.bin", content)],
                    )[0]
                except OSError:
                    return  # killed while this one was in flight: never acknowledged
                if status != 303:
                    return
                world.acknowledged[title] = (description, hashlib.sha256(content).hexdigest())
                acked.append(title)

        poster = threading.Thread(target=post_all)
        poster.start()
        if fault is None:
            time.sleep(world.rng.uniform(0.3, 2.0))
        else:
            poster.join(timeout=60)
        kill_serve(server.proc)  # the serving process, which holds the store, first
        poster.join(timeout=60)
        returncode = server.proc.returncode
    return {"op": "submit", "fault": fault, "acknowledged": len(acked), "rc": returncode}


def top_up_round(world: World) -> dict[str, object]:
    """Two reports submitted with no kill, so that a targeted export has something to seal.

    An earlier export with --purge may have emptied the device; an export with nothing
    ready refuses ("nothing to export") and its fault point would never be reached.
    """
    acked = 0
    with Server(world.field) as server:
        browser = Browser(server.read_urls(1)[0])
        token = browser.csrf("/reports/new")
        for _ in range(2):
            world.serial += 1
            title = f"Отчёт {world.serial}"
            description = f"top-up report {world.serial}: {os.urandom(8).hex()}"
            content = os.urandom(world.rng.randrange(1, 50_000))
            status = browser.post("/reports/new", report_fields(title, description, token),
                                  [("attachments", f"{world.serial}.bin", content)])[0]
            assert status == 303, (status, _why(world))
            world.acknowledged[title] = (description, hashlib.sha256(content).hexdigest())
            acked += 1
    return {"op": "submit", "fault": None, "top_up": True, "acknowledged": acked}


def command_round(world: World, op: str, fault: str | None, purge: bool) -> dict[str, object]:
    if op == "export":
        args = ["export", "--out", str(world.usb), *(["--purge"] if purge else [])]
        data = world.field
    else:
        args = ["import", *sorted(str(p) for p in world.usb.glob("*.age"))]
        data = world.coordinator
        if len(args) == 1:
            return {"op": op, "skipped": "no bundle yet"}
    env = child_env(KUAGER_FAULT_POINT=fault) if fault else child_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--data", str(data), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )
    assert proc.stdin
    proc.stdin.write(PASSPHRASE + "\n")
    proc.stdin.close()
    if fault is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=world.rng.uniform(0.2, 2.5))
    else:
        proc.wait(timeout=120)
    _kill(proc)
    stderr = proc.stderr.read() if proc.stderr else ""
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()
    if op == "export" and proc.returncode == 1 and "nothing to export" in stderr:
        # An earlier --purge emptied the device: the refusal is right, and must be true.
        assert not _unsent_on_device(world), (stderr, _why(world))
        return {"op": op, "fault": fault, "purge": purge, "rc": 1, "nothing": True}
    if proc.returncode != -signal.SIGKILL:
        assert proc.returncode == 0, (args, stderr, _why(world))
    return {"op": op, "fault": fault, "purge": purge, "rc": proc.returncode}


def _unsent_on_device(world: World) -> bool:
    """Whether the device holds a report that no bundle has carried yet."""
    gc.collect()
    store = Store(Config(data_dir=world.field))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    try:
        return conn.execute(SELECT_UNSENT).fetchone() is not None
    finally:
        conn.close()
        store.lock()
        store._writers.release()


def open_and_check(world: World, data: Path) -> dict[str, tuple[str, str, list[str]]]:
    """Open the store as the next process would; no orphan, nothing twice, all intact.

    Returns title -> (id, description, attachment SHA-256s), latest revision of each.
    """
    gc.collect()  # earlier in-process Store objects let go of the writer lock
    store = Store(Config(data_dir=data))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    try:
        files = {p.name for p in store.config.files_dir.iterdir()}
        assert files == sweep.referenced_files(conn), ("orphan or missing file", _why(world))
        assert list(store.config.spool_dir.iterdir()) == [], ("stale spool", _why(world))
        found: dict[str, tuple[str, str, list[str]]] = {}
        for row in conn.execute("SELECT id, revision, body FROM reports ORDER BY id, revision"):
            body = json.loads(row["body"])
            shas = sorted(r[0] for r in conn.execute(
                "SELECT sha256 FROM attachments WHERE report_id = ?", (row["id"],)))
            assert row["revision"] == 1, ("a report stored twice", row["id"], _why(world))
            assert body["title"] not in found, ("a title twice", body["title"], _why(world))
            found[body["title"]] = (row["id"], body.get("description", ""), shas)
    finally:
        conn.close()
        store.lock()
        store._writers.release()
    for title, (description, sha) in world.acknowledged.items():
        if title in found:
            assert found[title][1:] == (description, [sha]), ("damaged", title, _why(world))
    return found


@pytest.mark.slow
def test_crash_rounds(tmp_path: Path) -> None:
    world = World(tmp_path / "f", tmp_path / "c", tmp_path / "usb", random.Random(SEED))  # noqa: S311
    key = init(world.coordinator, "coordinator")
    init(world.field, "field")
    assert run("recipients", "add", key, "--data", str(world.field)).exit_code == 0
    world.usb.mkdir()
    started = time.monotonic()
    for op, fault, purge in ROUNDS:
        if op == "submit":
            entry = submit_round(world, fault)
        else:
            if op == "export" and fault and not _unsent_on_device(world):
                world.log.append(top_up_round(world))
            entry = command_round(world, op, fault, purge)
        world.log.append(entry)
        open_and_check(world, world.field)
        open_and_check(world, world.coordinator)

    # One clean export and one clean import: nothing may be stranded anywhere.
    finished = command_round(world, "export", "never", True)
    assert finished["rc"] == 0 or finished.get("nothing"), _why(world)
    assert not list(world.usb.glob(".*.part")), ("a .part stayed on the stick", _why(world))
    finished = command_round(world, "import", "never", False)
    assert finished["rc"] == 0, _why(world)
    on_device = open_and_check(world, world.field)
    at_coordinator = open_and_check(world, world.coordinator)
    # What stays on the device was exported without --purge: the coordinator has it too.
    assert set(on_device) <= set(at_coordinator), ("never sent", _why(world))
    missing = set(world.acknowledged) - set(at_coordinator)
    assert not missing, ("acknowledged reports lost", sorted(missing), _why(world))
    kills = sum(1 for e in world.log if e.get("rc") == -signal.SIGKILL)
    for entry in world.log:  # a targeted kill in submit or export always finds its moment
        if entry.get("fault") and entry["op"] in ("submit", "export"):
            assert entry["rc"] == -signal.SIGKILL, (entry, _why(world))
    if REPORT_FILE:
        Path(REPORT_FILE).write_text(json.dumps({
            "seed": SEED, "rounds": len(ROUNDS), "kills": kills,
            "acknowledged": len(world.acknowledged), "at_coordinator": len(at_coordinator),
            "seconds": round(time.monotonic() - started, 1), "log": world.log,
        }, ensure_ascii=False, indent=1))
