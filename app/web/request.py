"""The request class of both sites: uploads go to an encrypted spool, never to ``tempfile``.

It also parses forms more strictly than Werkzeug does, before any view (or the CSRF check)
sees them:

* a multipart part without a name is refused with 400 (Werkzeug would file it under the
  key ``None``, and Flask-WTF's CSRF check then fails with a traceback: a 500 and a log
  line that anyone on the onion could repeat at will);
* an urlencoded body is refused with 413 above ``max_form_memory_size`` (2 MiB), before a
  byte of it is parsed: a declared ``Content-Length`` is refused unread, and a body of
  unknown length (chunked) is read only up to the limit. It may hold at most
  ``max_form_parts`` fields.
"""

from __future__ import annotations

import contextlib
import typing as t
from urllib.parse import parse_qsl

from flask import Request, current_app
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.sansio.multipart import File

from app.store.spool import EncryptedSpool


class UnreadableForm(BadRequest):
    """A form part that no page of ours could have sent (answered with the 400 page)."""


class _StrictMultiPartParser(MultiPartParser):
    def start_file_streaming(self, event: File, total_content_length: int | None) -> t.IO[bytes]:
        if not event.name:
            raise UnreadableForm()  # before a spool is opened for it
        return super().start_file_streaming(event, total_content_length)

    def parse(self, stream: t.IO[bytes], boundary: bytes, content_length: int | None
              ) -> tuple[MultiDict[str, str], MultiDict[str, t.Any]]:
        form, files = super().parse(stream, boundary, content_length)
        if None in form or "" in form:
            for upload in files.values():
                upload.close()
            raise UnreadableForm()
        return form, files


class _StrictFormDataParser(FormDataParser):
    def _parse_multipart(self, stream: t.IO[bytes], mimetype: str, content_length: int | None,
                         options: dict[str, str]) -> t.Any:
        parser = _StrictMultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


    def _parse_urlencoded(self, stream: t.IO[bytes], mimetype: str,
                          content_length: int | None, options: dict[str, str]) -> t.Any:
        limit = self.max_form_memory_size
        if limit is not None and content_length is not None and content_length > limit:
            raise RequestEntityTooLarge()  # unread: cheroot then closes the connection
        raw = _read_at_most(stream, limit)
        if self.max_form_parts is not None and raw.count(b"&") >= self.max_form_parts:
            raise RequestEntityTooLarge()
        items = parse_qsl(raw.decode(), keep_blank_values=True, errors="werkzeug.url_quote")
        return stream, self.cls(items), self.cls()


def _read_at_most(stream: t.IO[bytes], limit: int | None) -> bytes:
    """The whole body, or 413 as soon as it grows past ``limit`` (never reads further)."""
    if limit is None:
        return stream.read()
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise RequestEntityTooLarge()


class KuagerRequest(Request):
    """Flask request whose uploads go to an ``EncryptedSpool`` instead of a temporary file.

    Each spool holds an open file: the number of file parts per request is capped
    (``KUAGER_MAX_FILES``) so that one request cannot exhaust the process's descriptors
    before its CSRF token is even checked. Every spool opened is closed with the request,
    also when parsing stopped half-way (its ciphertext is then deleted).
    """

    form_data_parser_class = _StrictFormDataParser

    def _get_file_stream(  # type: ignore[override]
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> EncryptedSpool:
        opened = self.__dict__.setdefault("_kuager_spools", [])
        if len(opened) >= current_app.config["KUAGER_MAX_FILES"]:
            raise RequestEntityTooLarge()
        spool = EncryptedSpool(current_app.config["KUAGER"].spool_dir)
        opened.append(spool)
        return spool

    def close(self) -> None:
        try:
            super().close()
        finally:
            for spool in self.__dict__.pop("_kuager_spools", []):
                with contextlib.suppress(OSError):  # a full disk: it is deleted all the same
                    spool.close()
