"""The encrypted store and what only it may touch; it knows no page and no command.

Public API: ``store.Store`` (create, unlock, lock, connect, wipe), ``keyring`` (recipients,
identities, the device key), ``meta`` (settings kept in the database), ``migrations``,
``spool.EncryptedSpool``, ``fsutil`` (atomic writes, fsync), ``passphrase.weakness``,
``training`` (training stores), ``device``.
"""
