"""Files chosen on a report form that is shown again without saving ("Add another person",
a field that needs attention): kept, so nobody has to choose them again.

A browser sends the file input's files with every press of a button and cannot refill
the input afterwards. So the uploads of a post that does not save are kept where they
already are, in their encrypted spool (``spool/<random>``, ``EncryptedSpool.keep``); the
spool's key, its name as given and its size stay in this process's memory only, under an
opaque random token. The form shown again carries each token in a hidden ``held_file``
field, lists the files ("Files already chosen") with a "Remove" button each
(``held_remove``), and the post that saves hands them to ``intake.save`` exactly as the
uploads they were (``EncryptedSpool.reopen``), so they are cleaned like any upload.

A token is good only for the browser session that made it (``owner``, a random id in the
signed session cookie), for ``ttl`` seconds since the form last listed it (the form's
CSRF token expires then anyway). A token that is unknown, expired or someone else's is
ignored. Held spools are deleted when the report is saved (adopted into ``files/`` or
removed), when they are removed from the form, when they expire (checked on every use),
and when the store locks; a crash leaves only ciphertext under a forgotten key, which the
open-time sweep (``store.sweep``) removes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app, request, session
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.datastructures import FileStorage

from app.i18n import format_size
from app.records.attachments import display_name
from app.store.spool import EncryptedSpool

if TYPE_CHECKING:
    from app.store.store import Store

#: Form field names: the tokens the form carries, and a Remove button's value.
HELD_FIELD = "held_file"
REMOVE_FIELD = "held_remove"
_OWNER = "held_owner"
_EXTENSION = "kuager.held_files"


@dataclass
class HeldFile:
    token: str
    owner: str
    path: Path
    key: bytes
    size: int
    sha256: str
    filename: str
    mimetype: str
    used: float = field(default_factory=time.monotonic)


class HeldFiles:
    """Every held file of one site, in memory; the spools themselves are ciphertext.

    ``max_total_bytes`` bounds what all sessions together may hold (the public site, where
    anyone can open a session); beyond it new files are not held.
    """

    def __init__(self, ttl: float, max_total_bytes: int | None = None) -> None:
        self.ttl = ttl
        self.max_total_bytes = max_total_bytes
        self._items: dict[str, HeldFile] = {}
        self._lock = threading.Lock()

    def _expire(self, now: float) -> list[HeldFile]:
        gone = [item for item in self._items.values() if now - item.used > self.ttl]
        for item in gone:
            del self._items[item.token]
        return gone

    def hold(self, owner: str, upload: FileStorage) -> HeldFile | None:
        """Keep one upload's spool; None (and the spool left to the request, which deletes
        it) when the site's total would grow past ``max_total_bytes``."""
        spool = upload.stream
        if not isinstance(spool, EncryptedSpool):
            raise TypeError("uploads must arrive through KuagerRequest's encrypted spool")
        with self._lock:
            gone = self._expire(time.monotonic())
            total = sum(item.size for item in self._items.values())
            fits = self.max_total_bytes is None or total + spool.size <= self.max_total_bytes
            item = None
            if fits:
                item = HeldFile(secrets.token_urlsafe(18), owner, spool.path, b"", spool.size,
                                spool.sha256, upload.filename or "",
                                upload.mimetype or "application/octet-stream")
                item.key = spool.keep()
                self._items[item.token] = item
        _delete(gone)
        return item

    def get(self, owner: str, tokens: Iterable[str]) -> list[HeldFile]:
        """The held files of these tokens that belong to ``owner`` (others are ignored),
        in the order given, each once; their time is renewed."""
        now = time.monotonic()
        found: list[HeldFile] = []
        with self._lock:
            gone = self._expire(now)
            for token in tokens:
                item = self._items.get(token)
                if item is not None and owner and item.owner == owner and item not in found:
                    item.used = now
                    found.append(item)
        _delete(gone)
        for item in found:  # the sweep of another process on this store spares young files
            with contextlib.suppress(OSError):
                os.utime(item.path)
        return found

    def release(self, owner: str, tokens: Iterable[str]) -> list[HeldFile]:
        """Stop holding these files of ``owner`` and return them (the caller ends them)."""
        with self._lock:
            return [self._items.pop(t) for t in dict.fromkeys(tokens)
                    if owner and t in self._items and self._items[t].owner == owner]

    def discard(self, owner: str, tokens: Iterable[str]) -> None:
        _delete(self.release(owner, tokens))

    def clear(self) -> None:
        with self._lock:
            items, self._items = list(self._items.values()), {}
        _delete(items)

    def __len__(self) -> int:
        return len(self._items)


def _delete(items: Iterable[HeldFile]) -> None:
    for item in items:
        with contextlib.suppress(OSError):
            item.path.unlink(missing_ok=True)


def init_app(app: Flask, store: Store, ttl: float, max_total_bytes: int | None) -> None:
    registry = HeldFiles(ttl, max_total_bytes)
    app.extensions[_EXTENSION] = registry

    def on_lock() -> None:
        if not store.is_unlocked:  # locked or wiped (a passphrase change keeps them)
            registry.clear()

    store.lock_listeners.append(on_lock)


def registry() -> HeldFiles:
    return current_app.extensions[_EXTENSION]  # type: ignore[no-any-return]


def _owner(create: bool = False) -> str:
    """This browser session's random id, made when it first holds a file (until then it
    owns nothing: "", and a visitor who never holds a file gets no extra cookie)."""
    if _OWNER not in session:
        if not create:
            return ""
        session[_OWNER] = secrets.token_urlsafe(16)
    return str(session[_OWNER])


@dataclass
class Chosen:
    """The files of one post of a report form: ``held`` earlier (minus those removed)
    and the new ``uploads``; ``problem`` says why new uploads were not taken."""

    held: list[HeldFile]
    uploads: list[FileStorage]
    removal: bool = False
    problem: str | None = None

    def count(self) -> int:
        return len(self.held) + len(self.uploads)


def chosen() -> Chosen:
    """Read the held tokens, a Remove button and the new uploads of this post, and apply
    the per-request limits (file count and size) to held and new files together."""
    reg, owner = registry(), _owner()
    removed = request.form.getlist(REMOVE_FIELD)
    if removed:
        reg.discard(owner, removed)
    tokens = [t for t in request.form.getlist(HELD_FIELD) if t not in removed]
    held = reg.get(owner, tokens)
    uploads = [f for f in request.files.getlist("attachments") if f is not None and f.filename]
    result = Chosen(held, uploads, removal=bool(removed))
    max_files = int(current_app.config["KUAGER_MAX_FILES"])
    max_bytes = int(current_app.config["MAX_CONTENT_LENGTH"])
    total = sum(h.size for h in held) + sum(_size(u) for u in uploads)
    if uploads and (result.count() > max_files or total > max_bytes):
        result.uploads = []
        if current_app.config.get("KUAGER_SIDE") == "public":
            result.problem = _(
                "One report takes at most %(count)d files and %(size)s together. The files "
                "you just chose were not added: remove some, or send the others in another "
                "report.", count=max_files, size=format_size(max_bytes))
        else:
            result.problem = _(
                "One report form takes at most %(count)d files and %(size)s together. The "
                "files you just chose were not added: remove some, or save the report and "
                "add the others by editing it.", count=max_files, size=format_size(max_bytes))
    return result


def _size(upload: FileStorage) -> int:
    spool = upload.stream
    return spool.size if isinstance(spool, EncryptedSpool) else 0


def keep(files: Chosen) -> Chosen:
    """The form is shown again: hold the new uploads too. Return what the form lists."""
    reg, owner = registry(), _owner(create=bool(files.uploads))
    held = list(files.held)
    dropped = False
    for upload in files.uploads:
        item = reg.hold(owner, upload)
        if item is None:
            dropped = True
        else:
            held.append(item)
    problem = files.problem
    if dropped and problem is None:
        problem = _("Some files could not be kept while the form was shown again: choose "
                    "them again before sending.")
    return Chosen(held, [], problem=problem)


class Taken:
    """The held files as uploads for ``intake.save`` (a context manager: on leaving, every
    spool not adopted into ``files/`` is deleted, saved or not: after a failed save, such
    as a full disk, the files must be chosen again, as the page then says nothing was
    saved)."""

    def __init__(self, files: Chosen) -> None:
        self.items = registry().release(_owner(), [h.token for h in files.held])
        self.uploads: list[FileStorage] = []
        self.missing = 0
        for item in self.items:
            try:
                spool = EncryptedSpool.reopen(item.path, item.key, item.size, item.sha256)
            except OSError:
                self.missing += 1  # removed meanwhile (another process's sweep)
                continue
            self.uploads.append(FileStorage(stream=spool, filename=item.filename,  # type: ignore[arg-type]
                                            content_type=item.mimetype))

    def __enter__(self) -> list[FileStorage]:
        return self.uploads

    def __exit__(self, *exc: object) -> None:
        for upload in self.uploads:
            with contextlib.suppress(OSError):
                upload.stream.close()
        _delete(self.items)  # a spool that could not be reopened


def missing_message(count: int) -> str:
    return str(ngettext(
        "%(num)d file chosen earlier was no longer there and was not attached: add it "
        "again by editing the report.",
        "%(num)d files chosen earlier were no longer there and were not attached: add "
        "them again by editing the report.", count))


def listed(items: Iterable[HeldFile]) -> list[dict[str, object]]:
    """What the form shows of each held file (never its path or key)."""
    return [{"token": h.token, "name": display_name(h.filename), "size": h.size}
            for h in items]
