"""Crash leftovers in a store folder are removed when it next opens (issue 10, faults 2, 3).

The kills are real: a ``python -m app`` subprocess sends itself SIGKILL at the moment
``KUAGER_FAULT_POINT`` names (``app.store.fsutil.fault_point``).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest

from app.config import Config
from app.store import migrations, sweep
from app.store.store import Store
from tests.conftest import PASSPHRASE
from tests.live import Browser, Server, child_env, kuager, report_fields
from tests.test_exchange import export, init, listing, run, write_report
from tests.test_exchange_faults import kuager_killed_at


def file_names(data: Path) -> set[str]:
    folder = data / "files"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def referenced(data: Path) -> set[str]:
    gc.collect()  # Store objects of earlier in-process commands let go of the store
    store = Store(Config(data_dir=data))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    try:
        return sweep.referenced_files(conn)
    finally:
        conn.close()
        store.lock()
        store._writers.release()


def opened_by_another_process(data: Path) -> None:
    """A command in a process of its own: the next open, as after a reboot."""
    gc.collect()  # this test process's Store objects let go of the store first
    result = kuager("reports", "list", data=data)
    assert result.returncode == 0, result.stderr


def test_kill_during_submit_leaves_no_orphan_after_the_next_open(tmp_path: Path) -> None:
    data = tmp_path / "f"
    init(data, "field")
    write_report(data, "Сохранённый отчёт", [(b"%PDF-1.4 kept", "kept.pdf")])
    kept = file_names(data)
    env = child_env(KUAGER_FAULT_POINT="spool-adopted")
    with Server(data, env=env) as server:
        browser = Browser(server.read_urls(1)[0])
        fields = report_fields("Убит на полпути", "kill -9 after the move", browser.csrf("/reports/new"))
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            browser.post("/reports/new", fields, [("attachments", "doc.pdf", b"%PDF-1.4 " * 1000)])
        assert server.proc.wait(timeout=30) == -9
    assert len(file_names(data) - kept) == 1  # the orphan the kill left (fault 2)
    opened_by_another_process(data)
    assert file_names(data) == kept == referenced(data)
    assert [r["title"] for r in listing(data)] == ["Сохранённый отчёт"]


@pytest.fixture
def bundle(tmp_path: Path) -> dict[str, Path]:
    paths = {"c": tmp_path / "c", "f": tmp_path / "f", "b": tmp_path / "b.age"}
    key = init(paths["c"], "coordinator")
    init(paths["f"], "field")
    assert run("recipients", "add", key, "--data", str(paths["f"])).exit_code == 0
    write_report(paths["f"], "С вложениями", [(b"%PDF-1.4 one", "1.pdf"), (b"two" * 999, "2.bin")])
    assert export(paths["f"], paths["b"]).exit_code == 0
    return paths


def test_kill_during_import_leaves_no_orphan_after_the_next_open(bundle: dict[str, Path]) -> None:
    coordinator = bundle["c"]
    kuager_killed_at("spool-adopted", coordinator, "import", str(bundle["b"]))
    assert len(file_names(coordinator)) == 1  # moved in, never committed
    opened_by_another_process(coordinator)
    assert file_names(coordinator) == set()
    assert run("import", str(bundle["b"]), "--data", str(coordinator)).exit_code == 0
    assert len(file_names(coordinator)) == 2 and file_names(coordinator) == referenced(coordinator)


def test_kill_before_commit_of_an_import_leaves_nothing(bundle: dict[str, Path]) -> None:
    coordinator = bundle["c"]
    kuager_killed_at("import-applied", coordinator, "import", str(bundle["b"]))
    assert len(file_names(coordinator)) == 2
    opened_by_another_process(coordinator)
    assert file_names(coordinator) == set() and listing(coordinator) == []


def test_cli_import_clears_stale_spools(bundle: dict[str, Path]) -> None:
    """Fault 3: only the web app cleared spools; `kuager import` alone piled them up."""
    coordinator = bundle["c"]
    kuager_killed_at("import-staged", coordinator, "import", str(bundle["b"]))
    assert len(list((coordinator / "spool").iterdir())) == 2  # two attachments staged
    result = kuager("import", str(bundle["b"]), data=coordinator)
    assert result.returncode == 0, result.stderr
    assert list((coordinator / "spool").iterdir()) == []


def test_with_another_process_on_the_store_only_old_leftovers_go(tmp_path: Path) -> None:
    """A file another process moved in a moment ago may be about to get its row: spared."""
    data = tmp_path / "f"
    init(data, "field")
    holder = subprocess.Popen(  # another process that has the store open, and stays
        [sys.executable, "-c", HOLD, str(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env=child_env(),
    )
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "open"
        files, spool = data / "files", data / "spool"
        files.mkdir(exist_ok=True)
        young, old, old_spool = files / ("a" * 32), files / ("b" * 32), spool / ("c" * 32)
        for path in (young, old, old_spool):
            path.write_bytes(b"ciphertext")
        past = time.time() - sweep.GRACE_SECONDS - 60
        os.utime(old, (past, past))
        os.utime(old_spool, (past, past))
        gc.collect()
        store = Store(Config(data_dir=data))
        store.unlock(PASSPHRASE)
        assert store.last_sweep == sweep.SweepResult(files_removed=1, spools_removed=1)
        assert young.exists() and not old.exists() and not old_spool.exists()
        store.lock()
        store._writers.release()
    finally:
        holder.communicate("\n", timeout=30)
    opened_by_another_process(data)  # alone now: the young orphan goes too
    assert not young.exists()


HOLD = f"""
import sys
from app.config import Config
from app.store.store import Store
store = Store(Config(data_dir=__import__("pathlib").Path(sys.argv[1])))
store.unlock({PASSPHRASE!r})
print("open", flush=True)
sys.stdin.readline()
"""


def test_a_second_open_in_the_same_process_is_not_alone(tmp_path: Path) -> None:
    """Threads of this process may be writing: a re-unlock sweeps like a stranger would."""
    data = tmp_path / "f"
    init(data, "field")
    gc.collect()
    store = Store(Config(data_dir=data))
    store.unlock(PASSPHRASE)
    assert store.last_sweep is not None and store.last_sweep.alone
    store.lock()
    young = data / "files" / ("d" * 32)
    young.parent.mkdir(exist_ok=True)
    young.write_bytes(b"ciphertext")
    store.unlock(PASSPHRASE)
    assert store.last_sweep is not None and not store.last_sweep.alone and young.exists()


def test_every_file_column_is_known_to_the_sweep(tmp_path: Path) -> None:
    """A new table naming files in files/ must be listed, or the sweep would delete them."""
    import sqlcipher3  # the store's SQLite (FTS5 options the system's may lack)

    conn = sqlcipher3.connect(str(tmp_path / "schema.db"))
    migrations.upgrade(conn)  # every migration (some are Python functions)
    columns = {
        (table, column)
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for (_cid, column, *_rest) in conn.execute(f"PRAGMA table_info({table})")
        if ("file" in column or column.endswith("_original")) and not column.endswith("_key")
    }
    assert columns == set(sweep.FILE_COLUMNS)
