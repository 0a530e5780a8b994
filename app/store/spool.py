"""Uploads encrypted as they arrive, so no plaintext byte of an attachment touches the disk.

Werkzeug's form parser spools every upload over 500 KB to ``tempfile`` in plaintext, and
a forensic examiner reads deleted blocks. ``app.web.request.KuagerRequest`` hands the parser an
``EncryptedSpool`` instead: each written chunk is sealed (``crypto.blob``) under a key that
exists only in memory and lands in the store's ``spool/`` folder under a random name. After
parsing, the spool is read back through the same key, or adopted whole as the attachment
file (the key then moves into the database), so large files are never copied.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

from app.store.fsutil import fault_point, random_name
from crypto.blob import BlobReader, BlobWriter, new_file_key


class EncryptedSpool(io.RawIOBase):
    """Write once (sealing as it goes, hashing the plaintext), then read back after seek(0)."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = folder / random_name()
        self.key = new_file_key()
        self._fh = open(self.path, "x+b")  # noqa: SIM115 - owned by this object, closed in close()
        self._writer: BlobWriter | None = BlobWriter(self._fh, self.key)
        self._reader: BlobReader | None = None
        self._hash = hashlib.sha256()
        self._known_sha256: str | None = None
        self.size = 0
        self.adopted = False

    @classmethod
    def reopen(cls, path: Path, key: bytes, size: int, sha256: str) -> EncryptedSpool:
        """A spool that :meth:`keep` left in place, opened again for reading only.

        It ends as a fresh one does: adopted into ``files/``, or deleted on ``close``.
        """
        spool = cls.__new__(cls)
        io.RawIOBase.__init__(spool)
        spool.path, spool.key = path, key
        spool._fh = open(path, "r+b")  # noqa: SIM115 - closed in close()
        spool._writer = None
        spool._reader = None
        spool._hash = hashlib.sha256()
        spool._known_sha256 = sha256
        spool.size = size
        spool.adopted = False
        return spool

    # -- writing (the form parser) ----------------------------------------------------

    def writable(self) -> bool:
        return self._writer is not None

    def write(self, data: Any) -> int:
        if self._writer is None:
            raise io.UnsupportedOperation("spool already sealed")
        view = memoryview(data)
        self._writer.write(view)
        self._hash.update(view)
        self.size += len(view)
        return len(view)

    def seal(self) -> None:
        """Write the final chunk: from here the spool is complete and authenticated."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._fh.flush()

    @property
    def sha256(self) -> str:
        return self._known_sha256 or self._hash.hexdigest()

    # -- reading (our code, after parsing) --------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        """False: only a rewind to the start (``seek(0)``) is possible, not random access."""
        return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if offset != 0 or whence != io.SEEK_SET:
            raise io.UnsupportedOperation("an encrypted spool can only rewind")
        self.seal()
        self._fh.seek(0)
        self._reader = BlobReader(self._fh, self.key)
        return 0

    def readinto(self, buffer: Any) -> int:
        if self._reader is None:
            self.seek(0)
        return self._reader.readinto(buffer) if self._reader is not None else 0

    # -- ending -----------------------------------------------------------------------

    def adopt(self, destination: Path) -> bytes:
        """Move the sealed file to ``destination`` and return its key (the caller stores it)."""
        self.seal()
        os.fsync(self._fh.fileno())  # on disk before the row that names it commits
        self._fh.close()
        os.replace(self.path, destination)
        # The open-time sweep spares young files: the move, not the upload, is what counts.
        os.utime(destination)
        self.adopted = True
        fault_point("spool-adopted")
        return self.key

    def keep(self) -> bytes:
        """Seal and close the spool but leave its ciphertext in place (a form shown again
        holds it, ``app.web.held``); return its key, which the caller keeps in memory only.
        :meth:`reopen` reads it again; the open-time sweep removes it if it is forgotten."""
        self.seal()
        self._fh.close()
        self.adopted = True  # not deleted by close(): the holder deletes it
        return self.key

    def close(self) -> None:
        if not self.closed:
            try:
                self._fh.close()  # may fail to flush on a full disk; it closes all the same
            finally:
                if not self.adopted:
                    # Only ciphertext under a forgotten key is left in the freed blocks.
                    self.path.unlink(missing_ok=True)
                super().close()

