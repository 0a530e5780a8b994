"""The encrypted store and what only it may touch; it knows no page and no command.

Public API: ``store.Store`` (create, unlock, lock, connect, change_passphrase, set_duress,
clear_duress, set_lockout, wipe), ``keyfile`` (the key file's slots, lockout files),
``keyring`` (recipients, identities, the device key), ``meta`` (settings kept in the
database), ``migrations``, ``retention``, ``spool.EncryptedSpool``, ``fsutil`` (atomic
writes, fsync), ``passphrase`` (weakness, suggest), ``training`` (training stores),
``device``, ``fulltext`` (the full-text index of the reports, written in the transaction
of every write) and ``fold`` (its cross-script word keys).
"""
