"""QR codes of the onion address: for the terminal and for the operator's page.

Both are drawn locally with segno: no image service ever learns the address.
"""

from __future__ import annotations

import io

import segno

__all__ = ["svg_qr", "terminal_qr"]

#: Medium error correction survives a smudged phone screen or a creased printout.
_ERROR_LEVEL = "m"


def terminal_qr(text: str) -> str:
    """The code as text with half-block characters, two modules per line, for stdout."""
    out = io.StringIO()
    segno.make(text, error=_ERROR_LEVEL).terminal(out=out, compact=True)
    return out.getvalue()


def svg_qr(text: str) -> str:
    """Inline ``<svg>`` markup for a page under CSP ``default-src 'none'``: one ``<path>``
    with presentation attributes only (no ``style`` attribute or element, which the policy's
    ``style-src 'self'`` would block), no script, no link to anything outside the page."""
    qr = segno.make(text, error=_ERROR_LEVEL)
    return qr.svg_inline(scale=5, dark="#000", light="#fff", svgclass="onion-qr",
                         lineclass=None, omitsize=False)
