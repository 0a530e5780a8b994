"""Coordinator review: full-text search over reports (issue 12), and charts.

Public API (import the modules themselves; this package file imports nothing):

* ``app.review.fold``: ``words``, ``compounds``, ``fold_word``, ``fold_keys``,
  ``fold_text``, ``extra_keys``: cross-script (Cyrillic/Latin) folding of words to keys.
* ``app.review.query``: ``SCHEMA_SQL``, ``document_parts``, ``document_text``,
  ``index_document``, ``remove_document``, ``build_match``, ``search``, ``highlight``:
  the FTS5 table, what of a report is indexed, and what a user types turned into a safe
  MATCH expression and a highlighted snippet.
* ``app.review.charts`` (from the svg-charts branch): ``bar_chart``, ``timeline_chart``,
  ``fill_months``: statistics drawn as SVG on the server.

See docs/REVIEW.md (search section) for the variants covered and the measured figures.
"""
