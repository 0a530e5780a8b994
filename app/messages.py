"""One ``gettext`` for code that runs both in the CLI and behind a page.

Inside a request the page's language (Flask-Babel) applies; elsewhere the CLI's
(``--lang`` or the locale environment). Extracted like any ``_()`` call.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_babel import gettext as _web_gettext
from flask_babel import ngettext as _web_ngettext

from .cli_i18n import cli_gettext, cli_ngettext


def gettext(message: str, **variables: Any) -> str:
    if has_request_context():
        return _web_gettext(message, **variables)
    return cli_gettext(message, **variables)


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Plural forms (Russian has three): ``%(num)d`` is filled in, as in Flask-Babel."""
    if has_request_context():
        return _web_ngettext(singular, plural, num, **variables)
    return cli_ngettext(singular, plural, num, **variables)
