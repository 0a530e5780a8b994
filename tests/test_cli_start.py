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
                                  ["stats", "--help"], ["table", "--help"],
                                  ["reports", "list", "--help"], ["duress", "set", "--help"],
                                  ["training", "seed", "--help"], ["devices", "list", "--help"],
                                  ["export", "--help"], ["import", "--help"]],
                         ids=" ".join)
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                            text=True, timeout=60, check=True)
    output = result.stdout.strip().splitlines()
    assert "Usage:" in result.stdout
    loaded = set(json.loads(output[-1]))
    assert sorted(loaded & set(HEAVY)) == []


@pytest.mark.parametrize(("lang", "usage"), [("ru_RU.UTF-8", "Использование:"),
                                           ("kk_KZ.UTF-8", "Қолданылуы:")])
@pytest.mark.parametrize("argv", [["--help"], ["init", "--help"]], ids=" ".join)
def test_translated_help_is_still_light(argv: list[str], lang: str, usage: str) -> None:
    """The help page in Russian or Kazakh reads the compiled catalog with the standard
    library's gettext: no Babel, no Flask."""
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                            text=True, timeout=60, check=True,
                            env={"LANG": lang, "PATH": "/usr/bin:/bin"})
    assert result.stdout.startswith(usage)
    assert sorted(set(json.loads(result.stdout.strip().splitlines()[-1])) & set(HEAVY)) == []


def test_option_choices_mirror_their_modules() -> None:
    """The CLI keeps a copy of a few constants so that --help imports no store code."""
    from app.cli import reports as cli_reports
    from app.cli import review as cli_review
    from app.cli import seizure as cli_seizure
    from app.cli import training as cli_training
    from app.records import seed
    from app.review import listing, stats, tables
    from app.store import passphrase

    assert cli_reports.SORT_CODES == listing.SORT_CODES
    assert cli_review.FIELDS == stats.FIELDS
    assert cli_review.FORMATS == tables.FORMATS
    assert cli_seizure.LANGUAGES == passphrase.LANGUAGES
    assert cli_seizure.WORDS_PER_SUGGESTION == passphrase.WORDS_PER_SUGGESTION
    assert cli_training.MAX_COUNT == seed.MAX_COUNT


#: What a help page may load beyond ``import click``: Kuager's CLI modules, the text
#: wrapping click draws help with, and ``struct`` for reading a compiled catalog.
BEYOND_CLICK = {"textwrap", "click._textwrap", "struct", "_struct"}


@pytest.mark.parametrize("lang", ["C.UTF-8", "ru_RU.UTF-8"])
@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["export", "--help"]],
                         ids=" ".join)
def test_help_loads_little_beyond_click(argv: list[str], lang: str) -> None:
    """Issue 10 finding 14: --help imported the browser launcher (subprocess, tempfile,
    shutil and with it lzma, bz2, zlib), socket, json and the configuration module, each a
    few milliseconds of a start that click alone already costs."""
    env = {"LANG": lang, "PATH": "/usr/bin:/bin"}
    floor = subprocess.run([sys.executable, "-c", "import click, json, sys; "
                            "print(json.dumps(sorted(sys.modules)))"], capture_output=True,
                           text=True, timeout=60, check=True, env=env)
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                            text=True, timeout=60, check=True, env=env)
    extra = set(json.loads(result.stdout.strip().splitlines()[-1])) - set(
        json.loads(floor.stdout))
    assert sorted(name for name in extra if not name.startswith(("app.cli", "app.messages"))
                  and name != "app" and name not in BEYOND_CLICK) == []
