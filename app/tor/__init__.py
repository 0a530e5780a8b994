"""The onion service (``onion.OnionService``, its own tor via stem) and ``qr`` codes."""
