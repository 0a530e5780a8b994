"""Sealed bundles between field devices and coordinators: the mission's core loop.

``bundle_export`` seals (field store), ``bundle_import`` verifies and stores (coordinator
store); see docs/ARCHITECTURE.md. This module names the API the CLI and pages use.
"""

from __future__ import annotations

from app.exchange.exporter import BUNDLE_KIND, ExportResult, export_bundle
from app.exchange.importer import ImportResult, format_ranges, import_bundle, missing_bundles
from app.exchange.refusals import explain as explain_refusal
from app.exchange.staging import ImportRefused

__all__ = [
    "BUNDLE_KIND",
    "ExportResult",
    "ImportRefused",
    "ImportResult",
    "explain_refusal",
    "export_bundle",
    "format_ranges",
    "import_bundle",
    "missing_bundles",
]
