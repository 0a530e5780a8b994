"""The ``kuager`` command: ``main.main`` is the entry point (docs/CLI.md).

Inside: ``common`` (``--data``, ``error:`` lines, passphrases), ``exchange`` (export,
import), ``serve``.
"""
