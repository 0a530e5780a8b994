"""``kuager --help`` starts light: no Flask, SQLCipher, cryptography, stem, Babel or Pillow.

A structural test, not a timing one (bench/cli_start.py prints the times): each of those
costs tens to hundreds of milliseconds at import, and the CLI only needs them inside a
command that uses them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("flask", "flask_babel", "flask_wtf", "werkzeug", "jinja2", "babel", "sqlcipher3",
         "cryptography", "crypto", "stem", "PIL", "argon2")

PROBE = """
import json, sys
from app.cli.main import main
try:
    main(sys.argv[1:], prog_name="kuager")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.mark.parametrize("argv", [["--help"], ["init", "--help"], ["serve", "--help"],
                                  ["export", "--help"], ["import", "--help"]],
                         ids=" ".join)
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                            text=True, timeout=60, check=True)
    output = result.stdout.strip().splitlines()
    assert "Usage:" in result.stdout
    loaded = set(json.loads(output[-1]))
    assert sorted(loaded & set(HEAVY)) == []


def test_help_in_russian_is_still_light() -> None:
    """A language from the environment loads no catalog until a message is printed."""
    result = subprocess.run([sys.executable, "-c", PROBE, "--help"], capture_output=True,
                            text=True, timeout=60, check=True,
                            env={"LANG": "ru_RU.UTF-8", "PATH": "/usr/bin:/bin"})
    assert sorted(set(json.loads(result.stdout.strip().splitlines()[-1])) & set(HEAVY)) == []
