"""Why a bundle was not imported, in the reader's language.

``crypto/`` speaks English for developers ("chunk 0 failed authentication") and knows
nothing of gettext; the operating system names its errors in English ("No such file or
directory"). The web import page and ``kuager import`` show people what happened and what
to do instead, through :func:`explain`: the refusal's cause (kept on ``ImportRefused``)
picks the message, so no English sentence reaches a Kazakh or Russian page.
"""

from __future__ import annotations

import errno

from app.exchange.staging import ImportRefused
from app.messages import gettext as _
from crypto import errors as crypto_errors

__all__ = ["crypto_reason", "explain", "os_reason"]

def _damaged() -> str:
    return _("the file is damaged or incomplete: copy it again from the USB stick (or ask "
             "for it again) and retry")


def _crypto_messages() -> list[tuple[type[crypto_errors.CryptoError], str]]:
    """Most specific first: a subclass must come before its base."""
    return [
        (crypto_errors.TruncatedPayload,
         _("the file is incomplete: it ends too early (copied only in part?). Copy it again "
           "and retry")),
        (crypto_errors.TamperedPayload, _damaged()),
        (crypto_errors.TrailingData,
         _("the file has extra data after its end: it was damaged or altered")),
        (crypto_errors.PayloadError, _damaged()),
        (crypto_errors.ArmorError,
         _("this is a bundle in text (armored) form: import the binary file instead")),
        (crypto_errors.UnsupportedVersion,
         _("the file is of a version this Kuager cannot read: update Kuager")),
        (crypto_errors.WorkFactorTooHigh,
         _("the file asks for more work to open than Kuager allows: it is not a bundle")),
        (crypto_errors.HeaderMacError,
         _("the beginning of the file was altered after sealing: it cannot be trusted")),
        (crypto_errors.NoIdentityMatch,
         _("this bundle was not sealed to this store's key: it is meant for another "
           "coordinator, or the monitor used an old key")),
        (crypto_errors.RecipientMismatch,
         _("this bundle was re-sealed to other recipients after it was made: it cannot be "
           "trusted")),
        (crypto_errors.BadSignature,
         _("the device's signature does not match: the bundle was altered or forged")),
        (crypto_errors.ContentMismatch,
         _("the bundle's content does not match its list of contents: it was damaged or "
           "altered")),
        (crypto_errors.UnsupportedBundleVersion,
         _("the bundle is of a version this Kuager cannot read: update Kuager")),
        (crypto_errors.BundleError,
         _("the bundle's list of contents is malformed: it was damaged or altered")),
        (crypto_errors.KeyFormatError,
         _("the file names a key in a form Kuager does not read")),
    ]


def crypto_reason(exc: crypto_errors.CryptoError) -> str:
    """A refusal from ``crypto/`` as a sentence for the reader (no English detail)."""
    if isinstance(exc, crypto_errors.HeaderError) and "not an age file" in str(exc):
        return _("this is not a Kuager bundle (not an age file): choose the .age file the "
                 "monitor exported")
    if isinstance(exc, crypto_errors.HeaderError):
        return _("this is not a Kuager bundle, or its beginning is damaged")
    for kind, message in _crypto_messages():
        if isinstance(exc, kind):
            return message
    return _("the file could not be verified: it is damaged, altered or not a bundle")


def os_reason(exc: OSError) -> str:
    """An operating-system error while reading a bundle, by its number."""
    code = exc.errno
    if code == errno.ENOENT:
        return _("the file does not exist (was the USB stick removed?)")
    if code in (errno.EACCES, errno.EPERM):
        return _("Kuager may not read this file: check its permissions")
    if code == errno.EISDIR:
        return _("this is a folder, not a bundle file")
    if code == errno.EIO:
        return _("the disk could not be read (input/output error): the USB stick may be "
                 "failing; copy the file to this computer first")
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return _("the disk is full: free some space and retry")
    return _("the file could not be read (system error %(code)s)", code=code or "?")


def explain(exc: ImportRefused) -> str:
    """Why the import was refused: the cause's translated message, else the refusal's own
    (already translated where it was raised)."""
    cause = exc.cause
    if isinstance(cause, crypto_errors.CryptoError):
        return crypto_reason(cause)
    if isinstance(cause, OSError):
        return os_reason(cause)
    return str(exc)
