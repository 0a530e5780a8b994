"""``make run`` installs what running needs, on the port asked for, always on 127.0.0.1.

``make -n`` prints what a target would run without running it; a virtualenv path that
does not exist makes every install step show.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_TOOLS = ("pytest", "ruff", "mypy", "hypothesis", "pyinstaller")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _dry_run(tmp_path: Path, *args: str) -> list[str]:
    result = subprocess.run(["make", "-n", "--no-print-directory", f"VENV={tmp_path / 'v'}",
                             *args], cwd=ROOT, capture_output=True, text=True, check=True,
                            timeout=60)
    return result.stdout.splitlines()


def _installs(lines: list[str]) -> list[str]:
    return [line.split(" -r ", 1)[1].split()[0] for line in lines if " install " in line
            and " -r " in line]


def test_run_installs_the_runtime_lock_only_with_hashes(tmp_path: Path) -> None:
    lines = _dry_run(tmp_path, "run")
    assert _installs(lines) == ["requirements.lock"]
    assert any("--require-hashes -r requirements.lock" in line for line in lines)
    assert any(line.endswith("--no-deps -e .") for line in lines)


@pytest.mark.parametrize("target", ["setup", "test"])
def test_setup_and_test_install_the_test_lock(tmp_path: Path, target: str) -> None:
    assert _installs(_dry_run(tmp_path, target)) == ["requirements-test.lock"]


def test_the_runtime_lock_holds_no_test_or_lint_tool() -> None:
    names = re.findall(r"^([a-z0-9][a-z0-9._-]*)==", (ROOT / "requirements.lock").read_text(),
                       flags=re.MULTILINE)
    assert "flask" in names and "sqlcipher3" in names
    assert not set(names) & set(TEST_TOOLS)


@pytest.mark.parametrize(("args", "port"), [((), "8470"), (("PORT=8491",), "8491")])
def test_run_serves_on_the_port_asked_for_and_on_loopback(tmp_path: Path, args: tuple[str, ...],
                                                          port: str) -> None:
    # HOST is not a knob of `make run`: an address others reach shows them every page.
    serve = [line for line in _dry_run(tmp_path, "run", "HOST=0.0.0.0", *args)
             if " serve" in line]
    assert len(serve) == 1
    assert serve[0].endswith(f"kuager --data instance serve --host 127.0.0.1 --port {port}")
