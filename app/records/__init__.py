"""The domain: what a report is, and how it is written, read and kept track of.

Public API: ``reports`` (body <-> rows, create, update, delete, list), ``attachments``
(encrypted files, image metadata removal), ``intake`` (a submitted form to a stored
report), ``custody`` (chain-of-custody events), ``codes`` (the code lists and their labels).
"""
