"""Entry point of the frozen ``kuager`` program in the USB kit (PyInstaller).

``kuager --kuager-worker image|scrub ARGS`` runs a cleaning worker (the frozen program is
the only interpreter the kit has: ``app.records.attachments.worker_command``).
"""

from __future__ import annotations

import sys


def _worker(name: str, args: list[str]) -> int:
    if name == "image":
        from app.records import image_worker

        return image_worker.main(args)
    from app.records import scrub

    return scrub.main(["scrub", *args])


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--kuager-worker":
        sys.exit(_worker(sys.argv[2], sys.argv[3:]))
    from app.cli.main import main

    main()
