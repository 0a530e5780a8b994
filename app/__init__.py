"""Kuager: encrypted incident reports, sealed bundles, coordinator review.

The rooms, each a package (docs/ARCHITECTURE.md says what each may import):

* ``app.store``     the encrypted store and what only it may touch (keys, schema, spools)
* ``app.records``   the domain: reports, attachments, custody, code lists
* ``app.exchange``  sealed bundles between field devices and coordinators
* ``app.web``       the two Flask sites (``app.web.factory``) and their pages
* ``app.cli``       the ``kuager`` command (``app.cli.main:main``)
* ``app.tor``       the onion service and its QR code

Beside them, what every room shares: ``config``, ``i18n``, ``messages``, ``timeutil``.
Nothing is imported here: importing a package does no work.
"""
