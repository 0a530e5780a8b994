"""Faults in the exchange found by kill -9 and scale tests (issue 10), each reproduced.

The kills are real: ``python -m app`` runs in a subprocess with ``KUAGER_FAULT_POINT``
naming the moment at which it sends itself SIGKILL (``app.store.fsutil.fault_point``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from tests.test_exchange import export, init, listing, run, write_report


def kuager_killed_at(point: str, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m app --data DATA ARGS`` that kills itself with SIGKILL at ``point``."""
    env = dict(os.environ, KUAGER_FAULT_POINT=point, LANG="C.UTF-8")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "--data", str(data), *args],
        input=PASSPHRASE + "\n", capture_output=True, text=True, timeout=120, env=env,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    return proc


@pytest.fixture
def pair(tmp_path: Path) -> dict[str, Path]:
    """One field device sealing to one coordinator."""
    paths = {"f": tmp_path / "f", "c": tmp_path / "c", "usb": tmp_path / "usb"}
    key = init(paths["c"], "coordinator")
    init(paths["f"], "field")
    assert run("recipients", "add", key, "--data", str(paths["f"])).exit_code == 0
    paths["usb"].mkdir()
    return paths


@pytest.mark.parametrize("purge", [False, True])
def test_kill_after_publishing_costs_a_gap_never_a_reused_number(
    pair: dict[str, Path], purge: bool
) -> None:
    """Issue 10, fault 1: the next export reused the killed export's sequence number."""
    write_report(pair["f"], "Задержание на пикете", [(b"%PDF-1.4 protocol", "протокол.pdf")])
    write_report(pair["f"], "Штраф", [])
    first = pair["usb"] / "first.age"
    extra = ["--purge"] if purge else []
    kuager_killed_at("export-published", pair["f"], "export", "--out", str(first), *extra)
    assert first.is_file()  # the complete bundle was published before the kill
    titles = sorted(r["title"] for r in listing(pair["f"]))
    assert titles == ["Задержание на пикете", "Штраф"]  # nothing marked, nothing purged

    second = pair["usb"] / "second.age"
    result = export(pair["f"], second, *extra)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "2"
    assert "interrupted" in result.stderr and str(first) in result.stderr

    # The coordinator takes both, in either order: no "already sent a different bundle".
    imported = run("import", str(second), str(first), "--data", str(pair["c"]))
    assert imported.exit_code == 0, imported.output
    assert "different bundle" not in imported.output
    after_first = imported.stdout.split(str(first))[-1]
    assert "missing bundles" not in after_first  # the gap closed once both arrived
    got = listing(pair["c"])
    assert sorted(r["title"] for r in got) == titles  # each once
    assert {r["revision"] for r in got} == {1}
    assert (listing(pair["f"]) == []) == purge


def test_kill_before_writing_costs_a_gap_that_the_next_export_explains(
    pair: dict[str, Path],
) -> None:
    write_report(pair["f"], "Обыск", [])
    lost = pair["usb"] / "never.age"
    kuager_killed_at("export-reserved", pair["f"], "export", "--out", str(lost))
    assert not lost.exists()
    result = export(pair["f"], pair["usb"] / "b.age")
    assert result.exit_code == 0, result.output
    assert "never wrote bundle 1" in result.stderr
    assert "(bundle 2)" in result.stderr
    again = export(pair["f"], pair["usb"] / "c.age")
    assert "interrupted" not in again.stderr  # said once
    imported = run("import", str(pair["usb"] / "b.age"), "--data", str(pair["c"]))
    assert "missing bundles" in imported.stdout and ": 1" in imported.stdout
    assert [r["title"] for r in listing(pair["c"])] == ["Обыск"]


def test_a_clean_failure_gives_the_number_back(pair: dict[str, Path], tmp_path: Path) -> None:
    write_report(pair["f"], "Отчёт", [])
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    assert export(pair["f"], blocked / "b.age").exit_code == 1
    result = export(pair["f"], pair["usb"] / "b.age")
    assert "(bundle 1)" in result.stderr and "interrupted" not in result.stderr


def test_kill_mid_export_leaves_a_part_that_the_next_export_removes(
    pair: dict[str, Path], tmp_path: Path
) -> None:
    """Fault 4: a hidden .part file (about the bundle's size) stayed on the stick."""
    write_report(pair["f"], "Большой отчёт", [(os.urandom(300_000), "video.bin")])
    usb = pair["usb"]
    someone_elses = usb / ".0123456789abcdef0123456789abcdef.part"  # another device's
    someone_elses.write_bytes(b"not ours")
    kuager_killed_at("export-sealed", pair["f"], "export", "--out", str(usb / "a.age"))
    [part] = [p for p in usb.iterdir() if p != someone_elses]
    assert part.name.startswith(".") and part.name.endswith(".part")
    assert part.stat().st_size > 300_000

    result = export(pair["f"], usb / "b.age")
    assert result.exit_code == 0, result.output
    assert f"removed {part}" in result.stderr
    assert sorted(p.name for p in usb.iterdir()) == sorted([someone_elses.name, "b.age"])


def test_a_part_on_a_stick_that_is_not_plugged_in_goes_at_a_later_export(
    pair: dict[str, Path], tmp_path: Path
) -> None:
    write_report(pair["f"], "Отчёт", [])
    stick = tmp_path / "stick"
    kuager_killed_at("export-sealed", pair["f"], "export", "--out", str(stick / "a.age"))
    [part] = list(stick.iterdir())
    unplugged = tmp_path / "elsewhere"
    stick.rename(unplugged)
    first = export(pair["f"], pair["usb"] / "b.age")
    assert first.exit_code == 0 and "removed" not in first.stderr
    unplugged.rename(stick)
    write_report(pair["f"], "Ещё отчёт", [])
    second = export(pair["f"], pair["usb"] / "c.age")
    assert f"removed {part}" in second.stderr and list(stick.iterdir()) == []


def test_bundles_in_a_folder_get_random_names_and_bucketed_sizes(pair: dict[str, Path]) -> None:
    """Issue 11, item 7: names and sizes on a stick said which device sent how much."""
    for n, body in enumerate((b"short", os.urandom(20_000))):
        write_report(pair["f"], f"Отчёт {n}", [(body, f"{n}.bin")])
        result = export(pair["f"], pair["usb"])  # a folder: the name is chosen here
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in pair["usb"].iterdir())
    assert len(names) == 2 and all(len(n) == 36 and n.endswith(".age") for n in names)
    sizes = {(pair["usb"] / n).stat().st_size for n in names}
    assert len(sizes) == 1  # different content, one bucket
    exact = pair["usb"] / "exact name.age"
    write_report(pair["f"], "Третий", [])
    assert export(pair["f"], exact).exit_code == 0 and exact.is_file()  # --out FILE: as given
    imported = run("import", *(str(p) for p in sorted(pair["usb"].iterdir())),
                   "--data", str(pair["c"]))
    assert imported.exit_code == 0, imported.output
    assert sorted(r["title"] for r in listing(pair["c"])) == ["Отчёт 0", "Отчёт 1", "Третий"]
    assert list((pair["c"] / "spool").iterdir()) == []  # the padding was never staged


def _many_reports(data: Path, count: int) -> None:
    """``count`` small reports straight into the store (the form would take minutes)."""
    import gc

    from app.config import Config
    from app.records import reports
    from app.store.store import Store

    gc.collect()
    store = Store(Config(data_dir=data))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    for n in range(count):
        reports.create(conn, reports.body_from_form({
            "title": f"Отчёт {n}", "description": "Задержание на пикете.",
            "occurred_on": "2026-01-12", "occurred_precision": "day", "region": "almaty_city",
            "sensitivity": "normal"}))
    conn.commit()
    conn.close()
    store.lock()
    store._writers.release()


@pytest.mark.slow
def test_twenty_thousand_reports_go_out_in_several_bundles(pair: dict[str, Path]) -> None:
    """Fault 10: past about 7,280 reports the manifest passed its 1 MiB cap and export
    failed for ever ("manifest size is out of range")."""
    _many_reports(pair["f"], 20_000)
    out = pair["usb"] / "b.age"
    result = export(pair["f"], out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "20000"  # CONTRACT: the last line
    written = sorted(pair["usb"].iterdir())
    names = [p.name for p in written]
    assert names[0] == "b-2.age" and "b.age" in names and len(names) >= 3
    in_order = [out, *[pair["usb"] / f"b-{n}.age" for n in range(2, len(names) + 1)]]
    for number, path in enumerate(in_order, 1):
        assert f"into {path} (bundle {number})" in result.stderr
    imported = run("import", *map(str, in_order), "--data", str(pair["c"]))
    assert imported.exit_code == 0, imported.output
    assert "missing bundles" not in imported.stdout  # numbered 1, 2, 3... without a gap
    from app.config import Config
    from app.store.store import Store

    store = Store(Config(data_dir=pair["c"]))
    store.unlock(PASSPHRASE)
    conn = store.connect()
    assert conn.execute("SELECT count(DISTINCT id) FROM reports").fetchone()[0] == 20_000
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 20_000
    conn.close()
    store.lock()
    store._writers.release()
    again = export(pair["f"], pair["usb"] / "none.age")  # CONTRACT: nothing to seal, no file
    assert again.exit_code == 1 and "nothing to export" in again.output
    assert not (pair["usb"] / "none.age").exists()
