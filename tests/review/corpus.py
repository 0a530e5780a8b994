"""A generated coordinator store for the statistics and table tests, built the way real
reports arrive: written on field stores (``intake.save``), sealed (``export_bundle``),
imported (``import_bundle``), some edited and sent again as new revisions; a few written on
the coordinator store itself. The test keeps what it wrote (``Corpus.reports``) and counts
from that, never from the store.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.config import Config
from app.exchange.bundles import export_bundle, import_bundle
from app.records import codes, intake, reports
from app.review import triage
from app.store import device, keyring
from app.store.store import Store
from tests.conftest import PASSPHRASE

KAZAKH_NAMES = ["Айгүл Сәрсенбаева", "Ерғали Қуаныш", "Гүлнұр Өтепова", "Нұрлан Іңкәр",
                "Zhanar Aitkali", "\u200fمرحبا\u200f Әлия", "Бақытжан Ұлықбек"]
#: Hostile or awkward first characters of text cells (formula injection, tabs).
AWKWARD = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "Обычный"]

DATES = [  # (occurred_on, precision): the edges of the month and year rules
    ("2025-01-01", "day"), ("2025-12-31", "day"), ("2026-01-15", "day"),
    ("2025-03", "month"), ("2025-12", "month"), ("2024-02-29", "day"),
    ("2025", "year"), ("2024", "year"), ("2025-06-10", "year"),  # year precision, full date
    ("", "unknown"), ("2025-05-05", "unknown"), ("", "day"), ("2025", "day"),
]


@dataclass
class Written:
    """What the test knows about a report: its latest body and where it came from."""

    id: str
    body: dict[str, Any]
    fingerprint: str | None  # sending device; None: written on the coordinator store
    status: str = "new"
    tags: list[str] = field(default_factory=list)


@dataclass
class Corpus:
    coordinator: Store
    reports: dict[str, Written] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)  # field store name -> fp
    confirmed: set[str] = field(default_factory=set)


def _codes(rng: random.Random, code_list: codes.CodeList, most: int) -> list[str]:
    return rng.sample(sorted(codes.codes(code_list)), rng.randint(0, most))


def random_body(rng: random.Random) -> dict[str, Any]:
    occurred_on, precision = rng.choice(DATES)
    victims = []
    for _ in range(rng.choice([0, 1, 1, 2, 3, 4])):
        victims.append({
            "name": rng.choice([*KAZAKH_NAMES, ""]),
            "role": rng.choice([*codes.codes(codes.VICTIM_ROLES), "", "journalist"]),
            "consent": rng.random() < 0.8,
            "may_name": rng.random() < 0.5,
        })
    perpetrators = [{"kind": rng.choice([*sorted(codes.codes(codes.PERPETRATORS)), "", "police"]),
                     "name": rng.choice(["", "Отдел полиции №3", "ҰҚК"])}
                    for _ in range(rng.choice([0, 1, 1, 2, 3]))]
    form = {
        # A title names one of this report's own people (as monitors write them), so that
        # the consent rule must reach titles too; never a name the report does not carry,
        # which no rule could know to withhold.
        "title": rng.choice(AWKWARD) + " " + next(
            (v["name"] for v in victims if v["name"]), "Белсенді"),
        "description": rng.choice(AWKWARD) + " Белсенді ұсталды.",
        "occurred_on": occurred_on,
        "occurred_precision": precision,
        "region": rng.choice([*sorted(codes.codes(codes.REGIONS)), "almaty_city", "astana"]),
        "place": rng.choice(["Алматы", "Жаңаөзен", "=cmd|' /C calc'!A0", ""]),
        "rights": _codes(rng, codes.RIGHTS, 3),
        "acts": _codes(rng, codes.ACTS, 3),
        "victims": victims,
        "perpetrators": perpetrators,
        "legal": [{"code": "administrative", "article": "488"}] if rng.random() < 0.4 else [],
        "sources": _codes(rng, codes.SOURCES, 2),
        "sensitivity": rng.choice(["normal", "high", "critical"]),
        "may_publish": rng.random() < 0.6,
        "withhold_names": rng.random() < 0.3,
        "contact": "+7 701 000 00 00 reporter@example.org",
    }
    return reports.body_from_form(form)


def _store(path: Path, role: str) -> Store:
    store = Store(Config(data_dir=path, default_locale="en"))
    store.create(PASSPHRASE, role)
    store.unlock(PASSPHRASE)
    return store


def build(tmp_path: Path, *, seed: int = 13, per_device: int = 30, local: int = 4,
          revise: int = 8) -> Corpus:
    """Two field devices (``f1``, ``f2``) send ``per_device`` reports each; ``revise`` of
    each device's reports are edited and sent again; ``local`` reports are written on the
    coordinator store. Nothing is confirmed or rejected yet (see :func:`confirm`)."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible corpus)
    coord = _store(tmp_path / "coord", "coordinator")
    conn = coord.connect()
    key = keyring.initialise(conn, "coordinator").strip().splitlines()[-1]
    corpus = Corpus(coord)
    for _ in range(local):
        body = random_body(rng)
        report_id = intake.save(conn, coord.config, body, [])
        corpus.reports[report_id] = Written(report_id, body, None)
    conn.close()
    for name in ("f1", "f2"):
        field_store = _store(tmp_path / name, "field")
        fconn = field_store.connect()
        keyring.initialise(fconn, "field")
        keyring.add_recipient(fconn, key)
        fingerprint = device.fingerprint(fconn)
        corpus.fingerprints[name] = fingerprint
        written = []
        for _ in range(per_device):
            body = random_body(rng)
            report_id = intake.save(fconn, field_store.config, body, [])
            written.append(report_id)
            corpus.reports[report_id] = Written(report_id, body, fingerprint)
        fconn.close()
        export_bundle(field_store, tmp_path / f"{name}-1.age")
        import_bundle(coord, tmp_path / f"{name}-1.age")
        fconn = field_store.connect()
        for report_id in rng.sample(written, revise):
            body = random_body(rng)
            intake.save(fconn, field_store.config, body, [], report_id=report_id)
            corpus.reports[report_id].body = body
        fconn.close()
        export_bundle(field_store, tmp_path / f"{name}-2.age")
        import_bundle(coord, tmp_path / f"{name}-2.age")
        field_store.lock()
    return corpus


def confirm(corpus: Corpus, name: str) -> None:
    """The coordinator confirms field store ``name``'s device (``devices confirm``)."""
    conn = corpus.coordinator.connect()
    triage.confirm_device(conn, corpus.fingerprints[name])
    corpus.confirmed.add(corpus.fingerprints[name])
    conn.close()


def reject(corpus: Corpus, how_many: int, *, seed: int = 5) -> None:
    """The coordinator rejects ``how_many`` reports (``reports status ID rejected``) and
    gives a few others another status and a tag."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible corpus)
    conn = corpus.coordinator.connect()
    chosen = rng.sample(sorted(corpus.reports), how_many * 3)
    for n, report_id in enumerate(chosen):
        status = "rejected" if n < how_many else rng.choice(["verified", "in_review"])
        triage.set_status(conn, report_id, status)
        corpus.reports[report_id].status = status
        if n % 2:
            triage.add_tag(conn, report_id, "Жаңаөзен-2025")
            corpus.reports[report_id].tags.append("Жаңаөзен-2025")
    conn.close()
