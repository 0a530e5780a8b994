"""app.review.charts: well-formed, script-free SVG that shows every label and every count."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup, escape

from app.review import charts
from app.review.charts import bar_chart, fill_months, timeline_chart

SVG = "{http://www.w3.org/2000/svg}"
ALLOWED = {"svg", "title", "desc", "g", "rect", "text", "tspan", "line", "path", "polyline",
           "circle"}
KAZAKH = "әғқңөұүһі ӘҒҚҢӨҰҮҺІ"
HOSTILE = [
    "<script>alert(1)</script>",
    "</text></svg><script>alert(1)</script>",
    '"><svg onload="alert(1)">',
    "x' onmouseover='alert(1)",
    "& &amp; &lt; &#x3c; ]]> <!-- --> <![CDATA[x]]>",
    "<foreignObject><img src=x onerror=alert(1)></foreignObject>",
    '<image href="https://example.org/x.png"/>',
    "\u200fمرحبا بالعالم\u200f \u202eevil\u202c",
    f"Бейбіт жиналыс {KAZAKH}",
    "🙂 👩‍👩‍👧 🇰🇿 e\u0301",
    "tab\tnew\nline\r\x00\x01\x1b\x7f\x85 end",
    "\ud800 lone surrogate \udfff",
    "style=\"fill:url(https://example.org/#x)\"",
]


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    root = ET.fromstring(str(markup))  # noqa: S314 - our own output, under test
    assert root.tag == SVG + "svg"
    return root


def local(el: ET.Element) -> str:
    return el.tag.removeprefix(SVG)


def elements(root: ET.Element) -> list[ET.Element]:
    return list(root.iter())


def titles(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(SVG + "title")]


def visible_texts(root: ET.Element) -> list[str]:
    """The text of each <text>, without its <title> tooltip."""
    out = []
    for el in root.iter(SVG + "text"):
        parts = [el.text or ""]
        for child in el:
            if local(child) == "tspan":
                parts.append("".join(child.itertext()))
            parts.append(child.tail or "")
        out.append("".join(parts))
    return out


def bars(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter(SVG + "rect") if el.get("fill") == charts.BAR]


def cleaned(text: str) -> str:
    return charts._clean(text)


def assert_safe(root: ET.Element) -> None:
    for el in elements(root):
        assert local(el) in ALLOWED, el.tag
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), name
            assert "href" not in name.lower(), name
            assert name != "style", "a style attribute would be blocked by the CSP"
            if name != "xmlns":
                assert "url(" not in value.lower(), (name, value)
                assert "://" not in value, (name, value)
                assert "javascript:" not in value.lower(), (name, value)


# --------------------------------------------------------------------------- the <svg>


RIGHTS = [("Бейбіт жиналыс бостандығы", 12), ("Свобода мирных собраний", 7),
          ("Freedom of expression", 3), ("Әділ сот талқылауына құқық", 0)]


@pytest.mark.parametrize("markup", [
    bar_chart(RIGHTS, title="Құқықтар", empty_text="жоқ"),
    timeline_chart(fill_months({"2025-11": 2, "2026-03": 5}), title="Айлар", empty_text="жоқ"),
    bar_chart([], title="Құқықтар", empty_text="жоқ"),
    timeline_chart([], title="Айлар", empty_text="жоқ"),
], ids=["bars", "timeline", "empty-bars", "empty-timeline"])
def test_svg_root_scales_and_is_labelled(markup: Markup) -> None:
    root = parse(markup)
    assert root.get("width") == "100%"
    assert root.get("height") is None  # the viewBox gives the aspect ratio
    x, y, w, h = (float(v) for v in root.get("viewBox", "").split())
    assert (x, y, w) == (0, 0, 640)
    assert h > 0
    assert root.get("role") == "img"
    title = root.find(SVG + "title")
    desc = root.find(SVG + "desc")
    assert title is not None
    assert desc is not None
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("aria-describedby") == desc.get("id")
    family = root.get("font-family", "")
    for face in ("DejaVu Sans", "Noto Sans", "Arial", "sans-serif"):
        assert face in family
    assert_safe(root)
    # Readable at 390 px: 16 user units of a 640 viewBox are ~10 px, 20 are ~12 px.
    sizes = [float(el.get("font-size", "0")) for el in elements(root) if el.get("font-size")]
    assert min(sizes) >= 18
    # Markup: Jinja and escape() leave it alone.
    assert str(escape(markup)) == str(markup)


def test_charts_on_one_page_get_different_ids() -> None:
    a = parse(bar_chart(RIGHTS, title="A", empty_text="-"))
    b = parse(bar_chart(RIGHTS[:2], title="A", empty_text="-"))
    c = parse(timeline_chart([("2026-01", 1)], title="A", empty_text="-"))
    assert len({a.get("id"), b.get("id"), c.get("id")}) == 3
    assert parse(bar_chart(RIGHTS, title="A", empty_text="-", chart_id="rights")).get("id") == (
        "rights")


@pytest.mark.parametrize("chart_id", ['x" onload="alert(1)', "1abc", "", "a b", "a" * 65])
def test_a_chart_id_is_checked(chart_id: str) -> None:
    with pytest.raises(ValueError, match="chart_id"):
        bar_chart(RIGHTS, title="A", empty_text="-", chart_id=chart_id)


def test_output_is_deterministic() -> None:
    assert bar_chart(RIGHTS, title="A", empty_text="-") == bar_chart(RIGHTS, title="A",
                                                                       empty_text="-")


# --------------------------------------------------------------------------- bar chart


def test_bar_chart_shows_every_label_and_count_in_order() -> None:
    root = parse(bar_chart(RIGHTS, title="Бұзылған құқықтар", empty_text="жоқ"))
    shown = visible_texts(root)
    assert shown[0] == "Бұзылған құқықтар"
    labels = [t for t in shown if t in {label for label, _ in RIGHTS}]
    assert labels == [label for label, _ in RIGHTS]
    counts = [t for t in shown if t.isdigit()]
    assert counts == [str(count) for _, count in RIGHTS]
    for label, _ in RIGHTS:
        assert label in titles(root)
    desc = "".join(root.find(SVG + "desc").itertext())  # type: ignore[union-attr]
    assert desc == "; ".join(f"{label}: {count}" for label, count in RIGHTS)


def test_bar_lengths_are_proportional_to_counts() -> None:
    rows = [("a", 40), ("b", 10), ("c", 25), ("d", 1), ("e", 0)]
    root = parse(bar_chart(rows, title="t", empty_text="-"))
    widths = [float(el.get("width", "nan")) for el in bars(root)]
    assert len(widths) == len(rows)
    for (_, count), w in zip(rows, widths, strict=True):
        assert w == pytest.approx(widths[0] * count / 40, abs=0.01)
    # the longest bar and its count stay inside the chart
    assert 0 < widths[0] + 12 + charts._width("40", charts.FONT) <= 640


def test_zero_counts_draw_zero_length_bars_and_keep_their_labels() -> None:
    rows = [("Сөз бостандығы", 0), ("Азаптаудан азат болу", 0)]
    root = parse(bar_chart(rows, title="t", empty_text="-"))
    assert [float(el.get("width", "nan")) for el in bars(root)] == [0, 0]
    shown = visible_texts(root)
    assert "Сөз бостандығы" in shown
    assert "Азаптаудан азат болу" in shown
    assert shown.count("0") == 2


def test_a_single_row_fills_the_width() -> None:
    root = parse(bar_chart([("Свобода мирных собраний", 3)], title="t", empty_text="-"))
    (bar,) = bars(root)
    assert float(bar.get("width", "0")) > 500


def test_long_labels_wrap_then_end_with_an_ellipsis_and_keep_the_full_text() -> None:
    long = ("Азаптаудан және қатыгез, адамгершілікке жатпайтын немесе ар-намысты қорлайтын "
            "іс-әрекеттерден немесе жазалаудан азат болу құқығы")
    word = "Құқық" * 40  # no space to break at
    root = parse(bar_chart([(long, 1), (word, 2)], title="t", empty_text="-"))
    texts = [el for el in root.iter(SVG + "text") if el.find(SVG + "title") is not None][1:]
    for el, full in zip(texts, (long, word), strict=True):
        assert "".join(el.find(SVG + "title").itertext()) == full  # type: ignore[union-attr]
        lines = ["".join(t.itertext()) for t in el.iter(SVG + "tspan")]
        assert len(lines) == 2
        assert lines[-1].endswith("…")
        assert full.startswith(lines[0])
        for line in lines:
            assert charts._width(line, charts.FONT) <= 640 - 2 * charts.PAD
    assert all(float(el.get("width", "0")) <= 640 for el in bars(root))


def test_a_short_label_is_not_truncated() -> None:
    root = parse(bar_chart([("Бейбіт жиналыс бостандығы", 1)], title="t", empty_text="-"))
    assert not any("…" in t for t in visible_texts(root))


def test_empty_bar_chart_says_so() -> None:
    root = parse(bar_chart([], title="Аймақтар", empty_text="no reports match"))
    assert "no reports match" in visible_texts(root)
    assert "Аймақтар" in visible_texts(root)
    assert bars(root) == []
    assert_safe(root)


@pytest.mark.parametrize("count", [-1, 1.0, True, "3", None])
def test_counts_must_be_non_negative_ints(count: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        bar_chart([("a", count)], title="t", empty_text="-")  # type: ignore[list-item]
    with pytest.raises((TypeError, ValueError)):
        timeline_chart([("2026-01", count)], title="t", empty_text="-")  # type: ignore[list-item]


@pytest.mark.parametrize(("width", "counts"), [
    (640, [9, 3, 0]), (640, [123456, 99999, 5]), (240, [1000000, 999999, 3]),
    (320, [10**9, 1, 0]), (1200, [10**8, 10**7]),
])
def test_counts_stay_inside_the_chart(width: int, counts: list[int]) -> None:
    root = parse(bar_chart([(f"r{i}", c) for i, c in enumerate(counts)], title="t",
                           empty_text="-", width=width))
    values = [el for el in root.iter(SVG + "text") if el.get("font-weight") == "bold"
              and (el.text or "").isdigit()]
    assert [el.text for el in values] == [str(c) for c in counts]
    for el in values:
        x = float(el.get("x", "nan"))
        w = charts._width(el.text or "", charts.FONT * charts.BOLD)
        if el.get("text-anchor") == "end":  # inside the end of its bar, white on blue
            assert el.get("fill") == charts.PAPER
            assert x - w >= charts.PAD
        else:
            assert x + w <= width


def test_big_numbers_are_drawn_exactly() -> None:
    rows = [("a", 10**30 + 7), ("b", 123456789), ("c", 1)]
    root = parse(bar_chart(rows, title="t", empty_text="-"))
    assert str(10**30 + 7) in visible_texts(root)
    assert "123456789" in visible_texts(root)


# --------------------------------------------------------------------------- hostile text


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_stay_text(label: str) -> None:
    for markup in (
        bar_chart([(label, 1), ("ok", 2)], title=label, empty_text=label),
        bar_chart([], title=label, empty_text=label),
        timeline_chart([("2026-01", 1), (label, 2)], title=label, empty_text=label,
                       month_label=lambda ym: f"{ym} {label}"),
    ):
        for tag in ("<script", "<foreignObject", "<image", "<img", "<svg onload", "<!--"):
            assert tag not in str(markup)
        root = parse(markup)
        assert_safe(root)
        assert cleaned(label) in titles(root)


def test_kazakh_rtl_and_emoji_pass_through_unchanged() -> None:
    label = f"\u200fمرحبا\u200f {KAZAKH} 🙂 👩‍👩‍👧"
    root = parse(bar_chart([(label, 5)], title="t", empty_text="-"))
    assert label in visible_texts(root)


def test_control_characters_are_dropped_and_breaks_become_spaces() -> None:
    root = parse(bar_chart([("a\x00b\nc\t\td\u2028e", 1)], title="t", empty_text="-"))
    assert "ab c d e" in visible_texts(root)


def test_no_break_spaces_are_kept() -> None:
    root = parse(timeline_chart([("2026-03", 1)], title="t", empty_text="-",
                                month_label=lambda ym: "наурыз 2026\u202fж."))
    assert "наурыз 2026\u202fж." in visible_texts(root)


def test_truncation_keeps_emoji_sequences_and_combining_marks_whole() -> None:
    family = "👩‍👩‍👧"
    for unit in (family, "e\u0301", "🇰🇿"):
        text = unit * 200
        for line in charts._fit(text, charts.FONT, 300, max_lines=2):
            body = line.removesuffix("…")
            assert body == unit * (len(body) // len(unit)), (unit, line)


# --------------------------------------------------------------------------- months


def test_fill_months_fills_gaps_across_years_in_order() -> None:
    assert fill_months({"2026-02": 4, "2025-11": 1}) == [
        ("2025-11", 1), ("2025-12", 0), ("2026-01", 0), ("2026-02", 4)]
    assert fill_months({"2026-03": 2}) == [("2026-03", 2)]
    assert fill_months({}) == []


@pytest.mark.parametrize("key", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01",
                                 "2026-01-01", " 2026-01", "２０２６-01"])
def test_fill_months_refuses_what_is_not_a_month(key: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        fill_months({key: 1})


def test_fill_months_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        fill_months({"2026-01": -1})


@given(st.dictionaries(st.tuples(st.integers(1900, 2100), st.integers(1, 12)),
                       st.integers(0, 10**6), max_size=20))
def test_fill_months_property(counts: dict[tuple[int, int], int]) -> None:
    given_counts = {f"{y:04d}-{m:02d}": c for (y, m), c in counts.items()}
    filled = fill_months(given_counts)
    keys = [k for k, _ in filled]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert {k: c for k, c in filled if k in given_counts} == given_counts
    assert all(c == 0 for k, c in filled if k not in given_counts)
    for a, b in itertools.pairwise(keys):
        ya, ma = int(a[:4]), int(a[5:])
        assert b == (f"{ya + 1:04d}-01" if ma == 12 else f"{ya:04d}-{ma + 1:02d}")


# --------------------------------------------------------------------------- timeline

KK_MONTHS = ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз",
             "қыркүйек", "қазан", "қараша", "желтоқсан"]


def kk(ym: str) -> str:
    return f"{KK_MONTHS[int(ym[5:]) - 1]} {ym[:4]}\u202fж."


def month_axis(root: ET.Element) -> list[ET.Element]:
    """The x-axis labels: the <text> of the last <g>."""
    groups = root.findall(SVG + "g")
    return groups[-1].findall(SVG + "text")


def test_timeline_shows_every_month_and_count() -> None:
    points = fill_months({"2025-11": 3, "2026-01": 7, "2026-03": 5})
    root = parse(timeline_chart(points, title="Айлар", empty_text="-", month_label=kk))
    for ym, count in points:
        assert f"{kk(ym)}: {count}" in titles(root)
    # five months fit: every count is drawn above its bar, every month below
    shown = visible_texts(root)
    for _, count in points:
        assert str(count) in shown
    axis = [t.text for t in month_axis(root)]
    assert axis[0] == kk(points[0][0])
    assert axis[-1] == kk(points[-1][0])
    every = [kk(ym) for ym, _ in points]
    assert axis == [m for m in every if m in axis]  # in order


def test_timeline_bar_heights_are_proportional() -> None:
    points = [("2026-01", 8), ("2026-02", 2), ("2026-03", 0), ("2026-04", 5)]
    root = parse(timeline_chart(points, title="t", empty_text="-"))
    heights = [float(el.get("height", "nan")) for el in bars(root)]
    ys = [float(el.get("y", "nan")) for el in bars(root)]
    for (_, count), h in zip(points, heights, strict=True):
        assert h == pytest.approx(heights[0] * count / 8, abs=0.01)
    # all bars stand on one baseline
    assert len({round(y + h, 2) for y, h in zip(ys, heights, strict=True)}) == 1
    assert heights[2] == 0


def test_timeline_y_axis_ticks_are_round_and_cover_the_maximum() -> None:
    for top, step, axis_top in [(0, 1, 1), (1, 1, 1), (4, 1, 4), (5, 2, 6), (9, 5, 10),
                                (25, 10, 30), (41, 20, 60), (1000, 500, 1000),
                                (12345, 5000, 15000)]:
        assert charts._ticks(top) == (step, axis_top), top


@pytest.mark.parametrize(("months", "width"), [(1, 640), (7, 640), (17, 640), (36, 640),
                                               (60, 640), (120, 640), (600, 640), (36, 1000),
                                               (36, 240)])
def test_month_labels_never_overlap_and_the_ends_are_labelled(months: int, width: int) -> None:
    points = [(f"{2000 + m // 12:04d}-{m % 12 + 1:02d}", m % 9) for m in range(months)]
    root = parse(timeline_chart(points, title="t", empty_text="-", month_label=kk,
                                width=width))
    axis = month_axis(root)
    labels = [t.text or "" for t in axis]
    assert labels[0] == kk(points[0][0])
    if months > 1 and len(labels) > 1:
        assert labels[-1] == kk(points[-1][0])
    spans = []
    for t in axis:
        assert t.get("text-anchor") == "middle"
        half = charts._width(t.text or "", charts.FONT) / 2
        spans.append((float(t.get("x", "nan")) - half, float(t.get("x", "nan")) + half))
    for lo, hi in spans:
        assert lo >= 0
        assert hi <= width
    for (_, hi), (lo, _) in itertools.pairwise(spans):
        assert lo >= hi + charts.LABEL_GAP
    # every month keeps its count in a tooltip, drawn or not
    for ym, count in points:
        assert f"{kk(ym)}: {count}" in titles(root)


def test_month_labels_are_thinned_evenly() -> None:
    points = [(f"{2020 + m // 12:04d}-{m % 12 + 1:02d}", 1) for m in range(48)]
    root = parse(timeline_chart(points, title="t", empty_text="-", month_label=kk))
    shown = [t.text for t in month_axis(root)]
    indices = [[kk(ym) for ym, _ in points].index(s) for s in shown]
    steps = {b - a for a, b in itertools.pairwise(indices[:-1])}
    assert len(steps) <= 1  # one step, the last label aside
    assert 2 < len(shown) < 48


def test_counts_too_wide_for_their_bars_are_not_drawn_but_stay_in_tooltips() -> None:
    points = [(f"{2000 + m // 12:04d}-{m % 12 + 1:02d}", 100000 + m) for m in range(60)]
    root = parse(timeline_chart(points, title="t", empty_text="-"))
    assert "100001" not in visible_texts(root)
    assert "2000-02: 100001" in titles(root)


def test_empty_timeline_says_so() -> None:
    root = parse(timeline_chart([], title="Айлар", empty_text="Сүзгіге сәйкес есеп жоқ"))
    assert "Сүзгіге сәйкес есеп жоқ" in visible_texts(root)
    assert bars(root) == []


def test_widths_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="width"):
        bar_chart(RIGHTS, title="t", empty_text="-", width=100)
    with pytest.raises(TypeError, match="width"):
        timeline_chart([], title="t", empty_text="-", width=640.0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

labels_st = st.text(max_size=80)
counts_st = st.one_of(st.integers(0, 50), st.integers(0, 10**15))


@settings(deadline=None, max_examples=150)
@given(rows=st.lists(st.tuples(labels_st, counts_st), max_size=12), title=labels_st,
       empty_text=labels_st, width=st.integers(charts.MIN_WIDTH, 1200))
def test_bar_chart_property(rows: list[tuple[str, int]], title: str, empty_text: str,
                            width: int) -> None:
    root = parse(bar_chart(rows, title=title, empty_text=empty_text, width=width))
    assert_safe(root)
    assert root.get("viewBox", "").startswith(f"0 0 {width} ")
    all_titles = titles(root)
    for label, _ in rows:
        assert cleaned(label) in all_titles
    shown = visible_texts(root)
    for _, count in rows:
        assert str(count) in shown
    widths = [float(el.get("width", "nan")) for el in bars(root)]
    assert len(widths) == len(rows)
    assert all(0 <= w <= width for w in widths)
    if rows and max(c for _, c in rows):
        top = max(c for _, c in rows)
        longest = max(widths)
        for (_, count), w in zip(rows, widths, strict=True):
            assert math.isclose(w, longest * count / top, abs_tol=0.02)
    if not rows:
        desc = root.find(SVG + "desc")
        assert desc is not None
        assert (desc.text or "") == cleaned(empty_text)


@settings(deadline=None, max_examples=150)
@given(points=st.lists(st.tuples(labels_st, counts_st), max_size=40), title=labels_st,
       suffix=labels_st, width=st.integers(charts.MIN_WIDTH, 1200))
def test_timeline_property(points: list[tuple[str, int]], title: str, suffix: str,
                           width: int) -> None:
    def label(ym: str) -> str:
        return ym + suffix

    root = parse(timeline_chart(points, title=title, empty_text=suffix,
                                month_label=label, width=width))
    assert_safe(root)
    all_titles = titles(root)
    for ym, count in points:
        assert f"{cleaned(label(cleaned(ym)))}: {count}" in all_titles
    assert len(bars(root)) == len(points)
    for el in bars(root):
        assert float(el.get("height", "nan")) >= 0
        assert 0 <= float(el.get("x", "nan")) <= width


def test_module_imports_nothing_from_the_app() -> None:
    source = Path(charts.__file__).read_text(encoding="utf-8")
    imports = re.findall(r"^(?:from|import) (\S+)", source, flags=re.MULTILINE)
    assert imports
    for name in imports:
        assert not name.startswith(("app", ".")), name
    assert set(imports) <= {"__future__", "hashlib", "math", "re", "unicodedata",
                            "collections.abc", "functools", "markupsafe"}
