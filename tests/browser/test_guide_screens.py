"""The guides' screenshots are real, complete and in the right language.

docs/REVIEW.md and docs/TRAINING.md, .kk.md, .ru.md show PNGs that two scripts make in a
real browser (``make review-screens``, ``make training-screens``; docs/screens/). Checked
here, without a browser, on the committed files: every picture a guide references exists,
is a PNG of the size its script declares and not a blank page; every picture a script
makes is referenced; each training guide shows its own language's pages, in the order of
the workshop. With Chromium, both scripts run into a temporary folder and what they make
passes the same checks (skipped, with the reason, where Chromium is not installed).
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from tests.browser.test_screens import chromium
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "docs" / "screens"
TRAINING_GUIDES = {"en": "TRAINING.md", "kk": "TRAINING.kk.md", "ru": "TRAINING.ru.md"}
#: A page with text has dozens of colours after the scripts' 96-colour palette; a blank
#: or nearly blank page has a handful, and one colour covering almost every pixel.
MIN_COLOURS = 24
MAX_SHARE_OF_ONE_COLOUR = 0.97
MAX_WIDTH = 1024
MAX_BYTES = 150_000


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCREENS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REVIEW = _script("review_screens")
TRAINING = _script("training_screens")


def expected() -> dict[str, tuple[int, int]]:
    """Every file the two scripts make, with its size in pixels."""
    sizes = dict(REVIEW.SHOTS)
    for lang in TRAINING.LANGS:
        for step, size in TRAINING.STEPS.items():
            sizes[f"training-{step}-{lang}.png"] = size
    return sizes


def referenced(guide: str) -> list[str]:
    """The screenshots a guide shows (``![...](screens/NAME)``), in order."""
    text = (ROOT / "docs" / guide).read_text(encoding="utf-8")
    return re.findall(r"!\[[^\]]*\]\(screens/([^)\s]+)\)", text)


def problems(path: Path, size: tuple[int, int]) -> list[str]:
    """What is wrong with one screenshot (nothing: an empty list)."""
    if not path.is_file():
        return [f"{path.name}: missing"]
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return [f"{path.name}: not a PNG file"]
    try:
        Image.open(io.BytesIO(data)).verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, SyntaxError) as exc:
        return [f"{path.name}: broken PNG ({exc})"]
    found = []
    if image.size != size:
        found.append(f"{path.name}: {image.size}, expected {size}")
    if image.width > MAX_WIDTH or len(data) > MAX_BYTES:
        found.append(f"{path.name}: {image.width} px wide, {len(data)} bytes: too big")
    colours = image.convert("RGB").getcolors(1 << 16) or []
    commonest = max((count for count, _colour in colours), default=0)
    if len(colours) < MIN_COLOURS or commonest > MAX_SHARE_OF_ONE_COLOUR * image.width * (
            image.height):
        found.append(f"{path.name}: looks blank ({len(colours)} colours, the commonest on "
                     f"{commonest / (image.width * image.height):.0%} of the pixels)")
    return found


def test_every_screenshot_is_referenced_and_every_reference_exists() -> None:
    shown = [name for guide in ("REVIEW.md", *TRAINING_GUIDES.values())
             for name in referenced(guide)]
    assert len(shown) == len(set(shown)), "a screenshot is shown twice"
    assert sorted(shown) == sorted(expected())


@pytest.mark.parametrize("lang", sorted(TRAINING_GUIDES))
def test_training_guide_shows_its_language_in_workshop_order(lang: str) -> None:
    assert referenced(TRAINING_GUIDES[lang]) == TRAINING.names(lang)


def test_review_guide_shows_the_workbench() -> None:
    assert sorted(referenced("REVIEW.md")) == sorted(REVIEW.SHOTS)


@pytest.mark.parametrize(("name", "size"), sorted(expected().items()))
def test_committed_screenshot_is_sound(name: str, size: tuple[int, int]) -> None:
    assert problems(SCREENS / name, size) == []


def test_the_checks_refuse_blank_wrong_and_broken_pictures(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (1024, 720), (255, 255, 255)).save(blank)
    assert "looks blank" in " ".join(problems(blank, (1024, 720)))
    assert "expected (1024, 900)" in " ".join(problems(blank, (1024, 900)))
    broken = tmp_path / "broken.png"
    broken.write_bytes(blank.read_bytes()[:200])
    assert "broken PNG" in " ".join(problems(broken, (1024, 720)))
    (tmp_path / "text.png").write_text("not a picture")
    assert problems(tmp_path / "text.png", (1024, 720)) == ["text.png: not a PNG file"]
    assert problems(tmp_path / "none.png", (1024, 720)) == ["none.png: missing"]


def _run(script: str, out: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCREENS / script), "--out", str(out)], capture_output=True,
        text=True, timeout=1200, check=False, env={**os.environ, "LANG": "C.UTF-8"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]


@pytest.mark.slow
def test_scripts_make_every_screenshot_the_guides_show(tmp_path: Path) -> None:
    chromium()
    require_tool("chromedriver")
    out = tmp_path / "screens"
    _run("review_screens.py", out)
    _run("training_screens.py", out)
    made = sorted(path.name for path in out.iterdir())
    assert made == sorted(expected())
    assert [problem for name, size in expected().items()
            for problem in problems(out / name, size)] == []
