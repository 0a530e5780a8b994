"""Code lists: stored as stable codes, shown in the reader's language.

A report keeps ``"detention_administrative"``, never the label, so a Russian-speaking
monitor and a Kazakh-speaking coordinator read the same fact in their own language
and the statistics count one thing under one name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import has_request_context
from flask_babel import get_locale, get_translations
from flask_babel import lazy_gettext as _l

from app.i18n import sort_key

CodeList = tuple[tuple[str, object], ...]

REGIONS: CodeList = (
    ("astana", _l("Astana (city)")),
    ("almaty_city", _l("Almaty (city)")),
    ("shymkent", _l("Shymkent (city)")),
    ("abai", _l("Abai Region")),
    ("akmola", _l("Akmola Region")),
    ("aktobe", _l("Aktobe Region")),
    ("almaty_region", _l("Almaty Region")),
    ("atyrau", _l("Atyrau Region")),
    ("east_kazakhstan", _l("East Kazakhstan Region")),
    ("jambyl", _l("Jambyl Region")),
    ("jetisu", _l("Jetisu Region")),
    ("karaganda", _l("Karaganda Region")),
    ("kostanay", _l("Kostanay Region")),
    ("kyzylorda", _l("Kyzylorda Region")),
    ("mangystau", _l("Mangystau Region")),
    ("north_kazakhstan", _l("North Kazakhstan Region")),
    ("pavlodar", _l("Pavlodar Region")),
    ("turkistan", _l("Turkistan Region")),
    ("ulytau", _l("Ulytau Region")),
    ("west_kazakhstan", _l("West Kazakhstan Region")),
    ("abroad", _l("Abroad")),
    ("unknown", _l("Unknown")),
)

RIGHTS: CodeList = (
    ("expression", _l("Freedom of expression")),
    ("assembly", _l("Freedom of peaceful assembly")),
    ("association", _l("Freedom of association")),
    ("liberty", _l("Liberty and security of person")),
    ("fair_trial", _l("Right to a fair trial")),
    ("torture", _l("Freedom from torture and ill-treatment")),
    ("privacy", _l("Right to privacy")),
    ("non_discrimination", _l("Non-discrimination")),
    ("movement", _l("Freedom of movement")),
    ("life", _l("Right to life")),
)

ACTS: CodeList = (
    ("detention_preventive", _l("Preventive detention")),
    ("detention_administrative", _l("Administrative detention")),
    ("detention_delayed", _l("Delayed detention (after the event)")),
    # Up to 15 (30) days under the Code of Administrative Offences (art. 50; e.g. for
    # art. 488): a sanction, neither a detention (hours) nor criminal custody.
    ("administrative_arrest", _l("Administrative arrest")),
    ("arrest", _l("Arrest (held in custody)")),
    ("house_arrest", _l("House arrest")),
    ("fine", _l("Fine")),
    ("criminal_charge", _l("Criminal charge")),
    ("conviction", _l("Conviction")),
    ("search_raid", _l("Search or raid")),
    ("summons", _l("Summons or questioning")),
    ("surveillance", _l("Surveillance")),
    ("threat", _l("Threat or intimidation")),
    ("physical_attack", _l("Physical attack")),
    ("torture", _l("Torture or ill-treatment")),
    ("death_in_custody", _l("Death in custody")),
    ("blocking", _l("Blocking of a website or account")),
    ("accreditation_denied", _l("Denial of accreditation")),
    ("registration_denied", _l("Denial of registration")),
    ("assembly_refused", _l("Refusal of an assembly notification")),
    ("assembly_dispersed", _l("Dispersal of an assembly")),
    ("confiscation", _l("Confiscation or deletion of material")),
    ("inspection", _l("Tax or other inspection")),
    ("lawyer_licence_lost", _l("Loss of a lawyer's licence")),
    ("travel_ban", _l("Travel ban")),
    ("extradition", _l("Extradition or deportation")),
    ("family_reprisal", _l("Reprisal against family")),
)

VICTIM_ROLES: CodeList = (
    ("journalist", _l("Journalist")),
    ("blogger", _l("Blogger")),
    ("activist", _l("Activist")),
    ("lawyer", _l("Lawyer")),
    ("hrd", _l("Human rights defender")),
    ("relative", _l("Relative")),
    ("other", _l("Other")),
)

PERPETRATORS: CodeList = (
    ("police", _l("Police")),
    ("knb", _l("National Security Committee")),
    ("prosecutor", _l("Prosecutor's office")),
    ("court", _l("Court")),
    ("akimat", _l("Local administration (akimat)")),
    ("national_guard", _l("National Guard or armed forces")),
    ("penitentiary", _l("Penitentiary service")),
    ("anti_corruption", _l("Anti-Corruption Agency")),
    ("ministry_information", _l("Ministry of Culture and Information")),
    ("ministry", _l("Ministry")),
    ("tax", _l("State revenue bodies (tax)")),
    ("non_state", _l("Non-state actor")),
    ("unknown", _l("Unknown")),
)

LEGAL_CODES: CodeList = (
    ("criminal", _l("Criminal Code")),
    ("administrative", _l("Code of Administrative Offences")),
    ("criminal_procedure", _l("Criminal Procedure Code")),
    ("other", _l("Other law")),
)

SOURCES: CodeList = (
    ("witness", _l("I witnessed it")),
    ("victim", _l("I am the victim")),
    ("victim_account", _l("The victim told me")),
    ("documents", _l("Documents")),
    ("media", _l("Media or social media")),
    ("other", _l("Other")),
)

DATE_PRECISION: CodeList = (
    ("day", _l("Exact day")),
    ("month", _l("Month only")),
    ("year", _l("Year only")),
    ("unknown", _l("Date unknown")),
)

SENSITIVITY: CodeList = (
    ("normal", _l("Normal")),
    ("high", _l("High: people at risk")),
    ("critical", _l("Critical: life or liberty at stake")),
)

STATUSES: CodeList = (
    ("draft", _l("Draft")),
    ("ready", _l("Ready to export")),
    ("exported", _l("Exported")),
    ("imported", _l("Imported")),
)

#: Coordinator triage (a coordinator store's ``status``; a field store keeps STATUSES).
TRIAGE: CodeList = (
    ("new", _l("New")),
    ("in_review", _l("In review")),
    ("verified", _l("Verified")),
    ("needs_follow_up", _l("Needs follow-up")),
    ("rejected", _l("Rejected")),
)

ORIGINS: CodeList = (
    ("operator", _l("Entered on this device")),
    ("public", _l("Submitted through the public form")),
    ("coordinator", _l("Written by the coordinator (phone or in person)")),
)


#: Codes that stay at the top of a sorted list, in this order (the three cities of
#: republican significance before the regions).
_PINNED_FIRST = ["astana", "almaty_city", "shymkent"]
#: Codes that stay at the bottom, in this order: the catch-all choices.
_PINNED_LAST = ["abroad", "other", "unknown"]
#: The lists a reader scans for a name, shown sorted. The scales (date precision,
#: sensitivity, status) and ad hoc choices keep the order they are written in.
#: (Lists, not tuples: every upper-case tuple here is a code list, tests/test_i18n.py.)
_SORTED: list[CodeList] = [REGIONS, RIGHTS, ACTS, VICTIM_ROLES, PERPETRATORS, LEGAL_CODES,
                           SOURCES]


#: A leading generic word is not what a reader looks for: «область Абай» sorts under А.
_GENERIC = re.compile(r"^(область|город)\s+", re.IGNORECASE)


#: ``reading_order`` of the sorted lists, per list, catalog and language: every form
#: page and every submission (WTForms checks a choice against the list) asked for them,
#: and translating and collating the labels each time was a third of a submission's time.
_ORDERED: dict[tuple[int, object, str], list[tuple[str, str]]] = {}
_ORDERED_MAX = 256


def reading_order(code_list: CodeList, locale: str | None = None) -> list[tuple[str, str]]:
    """``(code, label)`` pairs as a reader scans them: by label in the reader's alphabet
    (Kazakh order for kk, Cyrillic then Latin for ru, Latin first for en), with
    :data:`_PINNED_FIRST` on top and :data:`_PINNED_LAST` at the bottom. A list not in
    :data:`_SORTED` keeps its order. Within a request, a sorted list is ordered once per
    catalog and language (the labels of a language never change while Kuager runs)."""
    index = next((n for n, known in enumerate(_SORTED) if code_list is known), None)
    if index is None:
        return [(code, str(text)) for code, text in code_list]
    if not has_request_context():
        return _reading_order(code_list, locale)
    key = (index, get_translations(), locale or str(get_locale()))
    ordered = _ORDERED.get(key)
    if ordered is None:
        if len(_ORDERED) >= _ORDERED_MAX:  # a catalog object per request would grow it
            _ORDERED.clear()
        ordered = _ORDERED[key] = _reading_order(code_list, locale)
    return list(ordered)


def _reading_order(code_list: CodeList, locale: str | None) -> list[tuple[str, str]]:
    pairs = [(code, str(text)) for code, text in code_list]
    first = [p for code in _PINNED_FIRST for p in pairs if p[0] == code]
    last = [p for code in _PINNED_LAST for p in pairs if p[0] == code]
    pinned = {p[0] for p in first + last}
    middle = sorted((p for p in pairs if p[0] not in pinned),
                    key=lambda pair: sort_key(_GENERIC.sub("", pair[1]), locale))
    return first + middle + last


def codes(code_list: CodeList) -> frozenset[str]:
    """The stable codes of a list, for validation."""
    return frozenset(code for code, _label in code_list)


def label(code_list: CodeList, code: str) -> str:
    """The label of ``code`` in the current language; an unknown code is shown as itself."""
    for known, text in code_list:
        if known == code:
            return str(text)
    return code


def labels(code_list: CodeList, selected: Iterable[str]) -> list[str]:
    return [label(code_list, code) for code in selected]
