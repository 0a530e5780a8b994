"""Codes shown in words: the label of a statistics group or a table cell, in the language
of the page (inside a request) or of the command line (``--lang``, else the locale).

The code lists of app/records/codes.py hold lazy strings for the web; outside a request
they are looked up in the CLI's catalogs by their message id.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context

from app.messages import cli_gettext, gettext
from app.records import codes

__all__ = ["CODE_LISTS", "code_label", "field_title", "group_label", "text"]

#: The code list of each statistics field and table column that holds codes.
CODE_LISTS: dict[str, codes.CodeList] = {
    "region": codes.REGIONS,
    "right": codes.RIGHTS,
    "act": codes.ACTS,
    "perpetrator": codes.PERPETRATORS,
    "victim_role": codes.VICTIM_ROLES,
    "status": codes.STATUSES + getattr(codes, "TRIAGE", ()),
    "legal": codes.LEGAL_CODES,
    "source": codes.SOURCES,
    "precision": codes.DATE_PRECISION,
    "sensitivity": codes.SENSITIVITY,
}


def text(lazy: Any) -> str:
    """A (lazy) message in the current language, in a request or on the command line."""
    if has_request_context():
        return str(lazy)
    args = getattr(lazy, "_args", None)
    if args and isinstance(args[0], str):
        return cli_gettext(args[0])
    return str(lazy)


def code_label(list_name: str, code: str) -> str:
    """The label of ``code`` in ``CODE_LISTS[list_name]``; an unknown code is itself."""
    for known, label in CODE_LISTS.get(list_name, ()):
        if known == code:
            return text(label)
    return code


def field_title(name: str) -> str:
    """The heading of a statistics field."""
    titles = {
        "region": gettext("Region"),
        "right": gettext("Right affected"),
        "act": gettext("What was done"),
        "perpetrator": gettext("Perpetrator"),
        "victim_role": gettext("Role of the person"),
        "month": gettext("Month"),
        "year": gettext("Year"),
        "status": gettext("Status"),
        "device": gettext("Device"),
    }
    return titles.get(name, name)


def group_label(name: str, value: str | None) -> str:
    """How a group of a statistics field is shown: a code's label, a month, a year, a
    device fingerprint, or what ``None`` means for that field."""
    if value is None:
        if name == "month":
            return gettext("month unknown")
        if name == "year":
            return gettext("year unknown")
        if name == "device":
            return gettext("written on this store")
        return gettext("not recorded")
    if name in CODE_LISTS:
        return code_label(name, value)
    return value
