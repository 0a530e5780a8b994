"""The request class of both sites: uploads go to an encrypted spool, never to ``tempfile``."""

from __future__ import annotations

from flask import Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge

from app.store.spool import EncryptedSpool


class KuagerRequest(Request):
    """Flask request whose uploads go to an ``EncryptedSpool`` instead of a temporary file.

    Each spool holds an open file: the number of file parts per request is capped
    (``KUAGER_MAX_FILES``) so that one request cannot exhaust the process's descriptors
    before its CSRF token is even checked.
    """

    _spools = 0

    def _get_file_stream(  # type: ignore[override]
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> EncryptedSpool:
        self._spools += 1
        if self._spools > current_app.config["KUAGER_MAX_FILES"]:
            raise RequestEntityTooLarge()
        return EncryptedSpool(current_app.config["KUAGER"].spool_dir)
