"""``python -m app`` runs the same command as ``kuager``."""

from app.cli.main import main

main(prog_name="kuager")
