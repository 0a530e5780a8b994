"""The two Flask sites and their pages.

Public API: ``factory.create_operator_app`` (operator and review pages, 127.0.0.1) and
``factory.create_public_app`` (the public submission form, the only part Tor reaches),
``server.Listener`` (cheroot), ``auth.start_idle_watch``.
"""
