"""Sealed bundles between field devices and coordinators.

Public API: ``bundles`` (``export_bundle``, ``import_bundle``, ``missing_bundles``,
``format_ranges``, ``ImportRefused``, ``explain_refusal``), ``inbox`` (public submissions
sealed on arrival), ``progress.Progress``. Inside: ``exporter``, ``importer``, ``staging``,
``schema``, ``records`` (one bundle entry to stored rows), ``refusals`` (why an import was
refused, in the reader's language).
"""
