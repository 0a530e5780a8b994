"""The one exception family of :mod:`crypto`.

Every failure raised by this package is a :class:`CryptoError`. Callers that only need
"refuse the input" catch the base class; callers that tell the user *why* (wrong
passphrase versus damaged file, unknown device, missing recipient) catch the subclasses.
Messages never contain key material or plaintext.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class: the input was refused and nothing unauthenticated was handed on."""


# --- key wrapping -------------------------------------------------------------------------


class KeyFileError(CryptoError):
    """A wrapped-key blob is damaged, truncated, of an unknown version or has absurd KDF
    parameters (refused before any expensive work, so a hostile blob cannot exhaust memory)."""


class WrongPassphrase(CryptoError):
    """The passphrase did not unwrap the key (or the blob's ciphertext was altered)."""


# --- STREAM payload -----------------------------------------------------------------------


class PayloadError(CryptoError):
    """The encrypted payload failed: plaintext released before this error is authentic,
    but the whole payload is not and must be discarded."""


class TruncatedPayload(PayloadError):
    """The payload ends before its final chunk (cut short, or chunks dropped at the end)."""


class TamperedPayload(PayloadError):
    """A chunk failed authentication: flipped bits, reordered or duplicated chunks."""


class TrailingData(PayloadError):
    """Bytes follow the final chunk, or an empty final chunk follows a full one."""


class BlobError(CryptoError):
    """An encrypted attachment file is damaged, truncated or was encrypted under another key."""


# --- age header and recipients ------------------------------------------------------------


class HeaderError(CryptoError):
    """The age header is malformed or not canonical, or a recognised stanza is invalid."""


class UnsupportedVersion(HeaderError):
    """The file (or bundle) declares a version this code does not implement."""


class HeaderMacError(CryptoError):
    """The header MAC does not verify: the header was altered after encryption."""


class NoIdentityMatch(CryptoError):
    """None of the supplied identities (or passphrases) unwraps any recipient stanza."""


class ArmorError(CryptoError):
    """ASCII-armored (PEM) age files are not supported; supply the binary file."""


class KeyFormatError(CryptoError):
    """A recipient or identity string is not a valid encoding (bech32, prefix, length)."""


class RecipientPolicyError(CryptoError):
    """The recipient list is refused: empty, mixes post-quantum and classic recipients,
    or mixes a passphrase with public-key recipients."""


class WorkFactorTooHigh(HeaderError):
    """An scrypt stanza asks for more work than the configured limit (denial of service)."""


# --- device signatures and bundles ---------------------------------------------------------


class BundleError(CryptoError):
    """A bundle's plaintext structure is refused."""


class UnsupportedBundleVersion(BundleError):
    """The bundle format version is not one this code reads."""


class ManifestError(BundleError):
    """The manifest is malformed, not canonical, or has hostile sizes or counts."""


class BadSignature(BundleError):
    """The device signature over the manifest does not verify."""


class UnsafeEntryName(BundleError):
    """An entry name is outside the strict grammar (paths, '..', NUL, upper case, ...)."""


class ContentMismatch(BundleError):
    """Entry bytes disagree with the manifest (size, SHA-256, or entry count)."""


class RecipientMismatch(BundleError):
    """The recipients listed in the signed manifest differ from the file's stanzas:
    the bundle was re-encrypted to someone else."""
