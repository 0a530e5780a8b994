"""Charts drawn on the server as inline SVG, for the review pages and printed briefings.

No script, no stylesheet, no external reference: the markup works in Tor Browser's Safest
mode, under the operator pages' CSP (``default-src 'none'; style-src 'self'``: so no
``style`` attribute either, only presentation attributes) and in a PDF printed from the page.

- :func:`bar_chart`: horizontal bars, one per ``(label, count)`` row, in the order given.
  Each label sits above its bar on the full width of the chart (long Kazakh or Russian
  phrases get two lines, then an ellipsis; the full label stays in a ``<title>``), the
  count at the end of the bar.
- :func:`timeline_chart`: vertical bars, one per month, with a y axis and month labels
  thinned so that they never overlap; :func:`fill_months` turns ``{"2026-01": 3, ...}``
  into the gapless list it expects.

An empty input draws a chart that says so. Every chart is an ``<svg>`` with a ``viewBox``
and ``width="100%"`` (it scales down to a phone), ``role="img"`` labelled by its
``<title>`` and described by a ``<desc>`` that lists every value, for screen readers.
Text sizes are 20 user units (22 for the title), so a 640-wide chart shown 390 px wide
keeps text above 11 px. The page's stylesheet should cap the size on wide screens, e.g.
``svg.chart { max-width: 40rem; height: auto; }``.

All text is cleaned of characters XML cannot carry, then escaped; counts must be ``int``
(``bool`` excluded) and are drawn exactly, with ``str``. Text widths are estimated from
per-character classes (DejaVu Sans is the widest face in the font stack), since the server
has no font metrics: wrapping and thinning err on the wide side.

This module imports nothing from the rest of the application.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from markupsafe import Markup, escape

__all__ = ["bar_chart", "fill_months", "timeline_chart"]

# --------------------------------------------------------------------------- look

#: Faces with Cyrillic and the Kazakh letters (ә ғ қ ң ө ұ ү һ і), then the generic one.
FONT_FAMILY = "DejaVu Sans, Noto Sans, Arial, sans-serif"
FONT = 20
TITLE_FONT = 22
LINE = 26  # line height for FONT
TITLE_LINE = 28
PAD = 12
#: Bold text is about 10% wider than regular text in DejaVu Sans: widths of bold text are
#: estimated at this much the font size.
BOLD = 1.1
#: The least space between two month labels (widths are estimated a little wide already).
LABEL_GAP = 12

INK = "#111111"  # text: 18.9:1 on white
BAR = "#1f4e79"  # bars: 8.6:1 on white
AXIS = "#333333"  # axis lines: 12.6:1
GRID = "#c8c8c8"  # decorative grid lines
MUTED = "#555555"  # empty-chart frame and text: 7.5:1
PAPER = "#ffffff"

MIN_WIDTH = 240
MAX_WIDTH = 4000

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_CHART_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")

# --------------------------------------------------------------------------- text


def _clean(text: str) -> str:
    """``text`` as one line XML 1.0 can carry: line breaks and tabs become spaces, runs of
    spaces collapse, other control characters, surrogates and U+FFFE/U+FFFF go. No-break
    spaces (U+00A0, U+202F) and bidi marks stay."""
    out: list[str] = []
    for ch in text:
        cp = ord(ch)
        if ch in "\t\n\r\v\f\x85\u2028\u2029":
            out.append(" ")
        elif cp < 0x20 or 0x7F <= cp <= 0x9F or 0xD800 <= cp <= 0xDFFF or cp in (0xFFFE, 0xFFFF):
            continue
        else:
            out.append(ch)
    return re.sub(" {2,}", " ", "".join(out)).strip(" ")


_NARROW = frozenset("iIjlıіїf.,:;'!|()[]{}/\\`\"-tr")


_FIXED_EM = {" ": 0.33, "\u00a0": 0.33, "\u202f": 0.2, "…": 1.0}
_WIDE = frozenset("mwшщжюыф%")
_WIDER = frozenset("WMШЩЖЮЫФ@")


@lru_cache(maxsize=4096)
def _em(ch: str) -> float:
    """Estimated advance of ``ch`` in DejaVu Sans, in em (generous: better too wide)."""
    cat = unicodedata.category(ch)
    cp = ord(ch)
    if cat in ("Mn", "Me", "Cf") or 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF:
        em = 0.0  # combining marks, ZWJ, bidi marks, variation selectors, skin tones
    elif ch in _FIXED_EM:
        em = _FIXED_EM[ch]
    elif unicodedata.east_asian_width(ch) in ("W", "F") or cp >= 0x1F000:
        em = 1.25  # CJK, emoji (from a fallback font)
    elif ch in _NARROW:
        em = 0.36
    elif ch in _WIDER:
        em = 1.05
    elif ch in _WIDE:
        em = 0.95
    elif cat == "Lu":
        em = 0.8
    else:
        em = 0.64
    return em


def _width(text: str, size: float) -> float:
    return size * sum(_em(ch) for ch in text)


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF  # the halves of a flag


def _boundary(text: str, k: int) -> bool:
    """Whether cutting ``text`` at ``k`` keeps grapheme clusters whole (roughly: it never
    separates a combining mark, a variation selector, a skin tone, a ZWJ sequence or the
    two halves of a flag)."""
    if k <= 0 or k >= len(text):
        return True
    nxt, prev = text[k], text[k - 1]
    if prev == "\u200d" or _em(nxt) == 0.0:
        return False
    if _regional(nxt) and _regional(prev):
        run = 0
        while run < k and _regional(text[k - 1 - run]):
            run += 1
        return run % 2 == 0
    return True


def _fit_len(text: str, size: float, max_w: float, *, at_least_one: bool = True) -> int:
    """Length of the longest prefix of ``text`` that fits ``max_w`` and ends on a cluster
    boundary; with ``at_least_one``, never less than one cluster (so wrapping advances)."""
    best = 0
    em = 0.0
    for k, ch in enumerate(text, start=1):
        em += _em(ch)
        if size * em > max_w:  # the same sum as _width's, so the two agree exactly
            break
        if _boundary(text, k):
            best = k
    if best == 0 and at_least_one and text:
        best = next(k for k in range(1, len(text) + 1) if _boundary(text, k))
    return best


def _ellipsize(text: str, size: float, max_w: float) -> str:
    """The longest prefix of ``text`` that fits with ``…`` after it, and the ``…``."""
    k = _fit_len(text, size, max_w - _width("…", size), at_least_one=False)
    return text[:k].rstrip(" ") + "…"


def _fit(text: str, size: float, max_w: float, max_lines: int = 1) -> list[str]:
    """``text`` wrapped at spaces (or anywhere in a word too long for a line) into at most
    ``max_lines`` lines of ``max_w``; the last line ends with ``…`` if text was left over."""
    lines: list[str] = []
    rest = text
    while rest:
        if _width(rest, size) <= max_w:
            lines.append(rest)
            break
        if len(lines) == max_lines - 1:
            lines.append(_ellipsize(rest, size, max_w))
            break
        end = _fit_len(rest, size, max_w)
        space = rest.rfind(" ", 0, end + 1)
        cut = space if space > 0 else end
        lines.append(rest[:cut])
        rest = rest[cut:].lstrip(" ")
    return lines or [""]


# --------------------------------------------------------------------------- markup


def _num(x: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, never ``-0``."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _attrs(attrs: dict[str, object]) -> str:
    parts = []
    for name, value in attrs.items():
        if value is None:
            continue
        shown = _num(value) if isinstance(value, float) else str(value)
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{escape(shown)}"')
    return "".join(parts)


def _el(tag: str, children: str = "", **attrs: object) -> str:
    if children:
        return f"<{tag}{_attrs(attrs)}>{children}</{tag}>"
    return f"<{tag}{_attrs(attrs)}/>"


def _text(text: str) -> str:
    return str(escape(text))


def _lines(lines: Sequence[str], x: float, y: float, line_h: float, *, title: str | None = None,
           **attrs: object) -> str:
    """One ``<text>`` with a ``<tspan>`` per line; ``title`` (the full, untruncated text)
    as its ``<title>`` child, shown as a tooltip."""
    inner = _el("title", _text(title)) if title is not None else ""
    for i, line in enumerate(lines):
        inner += _el("tspan", _text(line), x=float(x), dy=None if i == 0 else float(line_h))
    return _el("text", inner, x=float(x), y=float(y), **attrs)


def _svg(body: str, *, width: int, height: float, chart_id: str, title: str, desc: str) -> Markup:
    head = _el("title", _text(title), id=f"{chart_id}-title")
    head += _el("desc", _text(desc), id=f"{chart_id}-desc")
    head += _el("rect", x=0, y=0, width=width, height=float(height), fill=PAPER)
    svg = _el(
        "svg", head + body,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width} {_num(height)}",
        width="100%",
        role="img",
        aria_labelledby=f"{chart_id}-title",
        aria_describedby=f"{chart_id}-desc",
        font_family=FONT_FAMILY,
        font_size=FONT,
        fill=INK,
        class_="chart",
        id=chart_id,
    )
    return Markup(svg)  # noqa: S704 - built here from escaped text and numbers only


# --------------------------------------------------------------------------- input


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a count must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"a count cannot be negative: {value}")
    return value


def _label(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a label must be a str, not {type(value).__name__}")
    return _clean(value)


def _check_width(width: object) -> int:
    if isinstance(width, bool) or not isinstance(width, int):
        raise TypeError("width must be an int")
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ValueError(f"width must be between {MIN_WIDTH} and {MAX_WIDTH}")
    return width


def _make_id(chart_id: str | None, kind: str, title: str, data: Iterable[object]) -> str:
    """The caller's id, or one derived from the content: stable output, and two charts of
    one page get different ids unless they are the same chart."""
    if chart_id is not None:
        if not _CHART_ID.fullmatch(chart_id):
            raise ValueError("chart_id must be a letter then up to 63 letters, digits, - or _")
        return chart_id
    digest = hashlib.sha256(repr((kind, title, list(data))).encode("utf-8", "replace"))
    return f"chart-{digest.hexdigest()[:12]}"


def _describe(pairs: Iterable[tuple[str, int]]) -> str:
    return "; ".join(f"{label}: {count}" for label, count in pairs)


def _heading(title: str, width: int) -> tuple[str, float]:
    """The visible title (two lines at most) and the y below it."""
    lines = _fit(title, TITLE_FONT * BOLD, width - 2 * PAD, max_lines=2)
    markup = _lines(lines, PAD, PAD + TITLE_FONT, TITLE_LINE, title=title,
                    font_size=TITLE_FONT, font_weight="bold")
    return markup, PAD + TITLE_FONT + (len(lines) - 1) * TITLE_LINE + 10


def _empty(title: str, empty_text: str, width: int, chart_id: str) -> Markup:
    body, y = _heading(title, width)
    lines = _fit(empty_text, FONT, width - 4 * PAD, max_lines=3)
    box_h = len(lines) * LINE + 2 * PAD + 8
    body += _el("rect", x=PAD, y=float(y), width=width - 2 * PAD, height=float(box_h),
                fill="none", stroke=MUTED, stroke_width=1, stroke_dasharray="6 4")
    body += _lines(lines, width / 2, y + PAD + FONT + 4 - (LINE - FONT) / 2, LINE,
                   text_anchor="middle", fill=MUTED)
    return _svg(body, width=width, height=y + box_h + PAD, chart_id=chart_id, title=title,
                desc=empty_text)


# --------------------------------------------------------------------------- charts


def bar_chart(rows: Iterable[tuple[str, int]], *, title: str, empty_text: str,
              width: int = 640, chart_id: str | None = None) -> Markup:
    """Horizontal bars, one per ``(label, count)``, in the order given, as inline SVG.

    Each label is drawn above its bar (two lines at most, then ``…``; the full label is
    the ``<title>`` of the text), each count just after the end of its bar. Bar lengths
    are proportional to the counts; a zero count draws a zero-length bar next to a short
    baseline mark. A count too long to follow its bar goes inside the bar's end; one wider
    than about half the chart (13 digits at 240 units) may run past the edge. No rows: a
    framed ``empty_text`` under the title.
    """
    width = _check_width(width)
    data = [(_label(label), _count(count)) for label, count in rows]
    title, empty_text = _label(title), _label(empty_text)
    chart_id = _make_id(chart_id, "bar", title, data)
    if not data:
        return _empty(title, empty_text, width, chart_id)

    body, y = _heading(title, width)
    top = max(count for _, count in data)
    value_w = max(_width(str(count), FONT * BOLD) for _, count in data)  # drawn bold
    x0 = PAD + 2  # leaves room for the baseline mark
    room = width - x0 - PAD
    # The longest bar leaves room for its count after it, unless the counts are so long
    # (or the chart so narrow) that the bars would be stubs: then a count that does not
    # fit after its bar goes inside the bar's end, in white.
    span = max(room - value_w - 8, room / 2)
    bar_h = 22
    rows_markup = []
    for label, count in data:
        lines = _fit(label, FONT, width - 2 * PAD, max_lines=2)
        y += FONT + 4
        row = _lines(lines, PAD, y, LINE, title=label)
        y += (len(lines) - 1) * LINE + 6
        length = span * (count / top) if top else 0.0
        row += _el("rect", x=float(x0), y=float(y), width=float(length), height=bar_h, fill=BAR)
        row += _el("line", x1=PAD + 1, y1=float(y - 2), x2=PAD + 1, y2=float(y + bar_h + 2),
                   stroke=AXIS, stroke_width=2)
        shown = str(count)
        text_w = _width(shown, FONT * BOLD)
        baseline = float(y + bar_h / 2 + FONT * 0.36)
        if length + 6 + text_w > room and length >= text_w + 12:
            row += _el("text", _text(shown), x=float(x0 + length - 6), y=baseline,
                       font_weight="bold", text_anchor="end", fill=PAPER)
        else:
            row += _el("text", _text(shown), x=float(x0 + length + 6), y=baseline,
                       font_weight="bold")
        rows_markup.append(_el("g", row))
        y += bar_h + 14
    body += "".join(rows_markup)
    return _svg(body, width=width, height=y - 14 + PAD, chart_id=chart_id, title=title,
                desc=_describe(data))


def fill_months(counts: dict[str, int]) -> list[tuple[str, int]]:
    """``{"2026-03": 2, "2025-12": 1}`` → ``[("2025-12", 1), ("2026-01", 0), ("2026-02", 0),
    ("2026-03", 2)]``: every month from the first to the last, in order, 0 where missing.

    Raises ``ValueError`` for a key that is not ``YYYY-MM`` or a negative count.
    """
    months: dict[int, int] = {}
    for key, count in counts.items():
        match = _MONTH.fullmatch(key) if isinstance(key, str) else None
        if match is None:
            raise ValueError(f"not a YYYY-MM month: {key!r}")
        months[int(match[1]) * 12 + int(match[2]) - 1] = _count(count)
    if not months:
        return []
    return [(f"{m // 12:04d}-{m % 12 + 1:02d}", months.get(m, 0))
            for m in range(min(months), max(months) + 1)]


def _ticks(top: int) -> tuple[int, int]:
    """A round step (1, 2, 5 × 10ⁿ) and the axis top (a multiple of it, >= ``top``) with
    at most four steps."""
    top = max(top, 1)
    scale = 1
    while True:
        for mult in (1, 2, 5):
            step = mult * scale
            if -(-top // step) <= 4:
                return step, -(-top // step) * step
        scale *= 10


def timeline_chart(points: Iterable[tuple[str, int]], *, title: str, empty_text: str,
                   month_label: Callable[[str], str] = str, width: int = 640,
                   chart_id: str | None = None) -> Markup:
    """Vertical bars, one per ``(month, count)`` in the order given, as inline SVG.

    ``points`` are ``("YYYY-MM", count)`` pairs, usually ``fill_months(counts)``.
    ``month_label`` turns a key into the text shown (``"наурыз 2026 ж."``); the x-axis
    shows as many of them as fit without overlapping: every k-th month from the first,
    and the last one. Counts are drawn above the bars when they fit the bars' width; the
    y axis has round ticks; every bar has a ``<title>`` with its
    month and count. No points: a framed ``empty_text`` under the title.
    """
    width = _check_width(width)
    data = [(_label(month), _count(count)) for month, count in points]
    title, empty_text = _label(title), _label(empty_text)
    chart_id = _make_id(chart_id, "timeline", title, data)
    if not data:
        return _empty(title, empty_text, width, chart_id)

    labels = [_label(month_label(month)) for month, _ in data]
    body, y = _heading(title, width)
    n = len(data)
    step, axis_top = _ticks(max(count for _, count in data))
    ticks = list(range(0, axis_top + 1, step))
    left = PAD + max(_width(str(t), FONT) for t in ticks) + 10
    right = width - PAD
    slot = (right - left) / n
    bar_w = min(slot * 0.7, 48.0) if slot >= 4 else slot
    show_values = max(_width(str(count), FONT) for _, count in data) <= slot - 2
    plot_top = y + (LINE if show_values else FONT)
    plot_h = 220.0
    base = plot_top + plot_h

    grid = ""
    for t in ticks:
        ty = base - plot_h * t / axis_top
        if t:
            grid += _el("line", x1=float(left), y1=float(ty), x2=float(right), y2=float(ty),
                        stroke=GRID, stroke_width=1)
        grid += _el("text", _text(str(t)), x=float(left - 8), y=float(ty + FONT * 0.36),
                    text_anchor="end")
    body += _el("g", grid)

    bars = []
    for i, ((_, count), label) in enumerate(zip(data, labels, strict=True)):
        cx = left + slot * (i + 0.5)
        h = plot_h * count / axis_top
        bar = _el("title", _text(f"{label}: {count}"))
        bar += _el("rect", x=float(cx - bar_w / 2), y=float(base - h), width=float(bar_w),
                   height=float(h), fill=BAR)
        if show_values:
            bar += _el("text", _text(str(count)), x=float(cx), y=float(base - h - 6),
                       text_anchor="middle")
        bars.append(_el("g", bar))
    body += "".join(bars)
    body += _el("line", x1=float(left), y1=float(base), x2=float(right), y2=float(base),
                stroke=AXIS, stroke_width=2)

    body += _month_axis(labels, left, slot, base, width)
    return _svg(body, width=width, height=base + 10 + FONT + PAD, chart_id=chart_id,
                title=title, desc=_describe(zip(labels, (c for _, c in data), strict=True)))


def _month_axis(labels: list[str], left: float, slot: float, base: float, width: int) -> str:
    """Tick marks and month labels under the bars: every k-th label from the first, k the
    smallest step at which those labels (estimated widths, kept inside the chart) stand
    ``gap`` apart; then the last label if it fits after them, or instead of the one before
    it (the latest month matters most)."""
    gap = LABEL_GAP
    fitted = [_fit(label, FONT, width - 2 * PAD)[0] for label in labels]
    widths = [_width(text, FONT) for text in fitted]
    n = len(labels)

    def span(i: int) -> tuple[float, float]:
        half = widths[i] / 2
        cx = min(max(left + slot * (i + 0.5), PAD + half), width - PAD - half)
        return cx - half, cx + half

    def apart(a: int, b: int) -> bool:
        return span(b)[0] >= span(a)[1] + gap

    every = max(1, math.ceil((min(widths) + gap) / slot))
    while every < n and not all(apart(i, i + every) for i in range(0, n - every, every)):
        every += 1
    shown = list(range(0, n, every))
    if shown[-1] != n - 1:
        if apart(shown[-1], n - 1):
            shown.append(n - 1)
        elif len(shown) > 1 and apart(shown[-2], n - 1):
            shown[-1] = n - 1
    out = ""
    for i in shown:
        cx = left + slot * (i + 0.5)
        lo, hi = span(i)
        out += _el("line", x1=float(cx), y1=float(base), x2=float(cx), y2=float(base + 6),
                   stroke=AXIS, stroke_width=2)
        out += _el("text", _text(fitted[i]), x=float((lo + hi) / 2), y=float(base + 8 + FONT),
                   text_anchor="middle")
    return _el("g", out)
