"""Entry point of the frozen ``kuager`` program in the USB kit (PyInstaller)."""

from __future__ import annotations

from app.cli.main import main

if __name__ == "__main__":
    main()
