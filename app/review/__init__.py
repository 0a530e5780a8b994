"""Coordinator review: full-text search over reports (issue 12), and charts.

Public API (import the modules themselves; this package file imports nothing):

* ``app.review.query``: ``build_match``, ``search``, ``highlight``: what a user types
  turned into a safe MATCH expression over the full-text index, and a highlighted
  snippet. The index itself and the folding of words (written in the transaction of
  every write, so below this room) are ``app.store.fulltext`` and ``app.store.fold``.
* ``app.review.filters``, ``listing``, ``triage``, ``saved``: the list and its filters,
  triage and device trust.
* ``app.review.charts`` (from the svg-charts branch): ``bar_chart``, ``timeline_chart``,
  ``fill_months``: statistics drawn as SVG on the server.

See docs/REVIEW.md (search section) for the variants covered and the measured figures.
"""
