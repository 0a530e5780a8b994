"""Screenshots of the statistics and briefing pages for docs/REVIEW-stats.md, taken by a
real browser (headless Chromium, ``--screenshot``) from a store of fictional reports.

    .venv/bin/python docs/screens/make_review_screens.py

Writes ``docs/screens/stats-kk-390.png`` (the statistics page on a 390 px phone, in
Kazakh), ``docs/screens/stats-ru-1024.png`` and ``docs/screens/briefing-en-1024.png``.
The store lives in a temporary folder and is served on 127.0.0.1 only.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().parent
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio")
NAMES = ["Айгүл Сәрсенбаева", "Ерғали Қуанышев", "Гүлнұр Өтепова", "Мария Иванова",
         "Нұрлан Әбенов"]  # fictional


def build(data: Path):  # type: ignore[no-untyped-def]
    from app.config import Config
    from app.records import intake, reports
    from app.store import keyring
    from app.store import store as store_module
    from app.store.store import Store
    from crypto import keywrap

    store_module.KDF_PROFILE = keywrap.TEST_PROFILE  # a throw-away store
    store = Store(Config(data_dir=data, default_locale="kk"))
    store.create("fictional store for screenshots", "coordinator")
    conn = store.connect()
    keyring.initialise(conn, "coordinator")
    rng = random.Random(13)  # noqa: S311 - reproducible fictional data
    acts = ["detention_administrative", "fine", "detention_preventive", "summons",
            "search_raid", "threat", "criminal_charge"]
    for _ in range(60):
        month = rng.choice(["2025-01", "2025-02", "2025-03", "2025-03", "2025-05", "2025-06",
                            "2025-09", "2025-12"])
        body = reports.body_from_form({
            "title": "Бейбіт жиналыс алдында ұстау",
            "description": "Белсенділер жиналыс алдында ұсталды; айыппұл салынды.",
            "occurred_on": f"{month}-{rng.randint(1, 28):02d}", "occurred_precision": "day",
            "region": rng.choice(["almaty_city", "astana", "mangystau", "shymkent",
                                  "almaty_city"]),
            "place": "Алматы", "rights": ["assembly", "expression"],
            "acts": rng.sample(acts, rng.randint(1, 2)),
            "victims": [{"name": rng.choice(NAMES),
                         "role": rng.choice(["activist", "journalist", "blogger"]),
                         "consent": True, "may_name": rng.random() < 0.4}],
            "perpetrators": [{"kind": rng.choice(["police", "court", "akimat"]), "name": ""}],
            "legal": [{"code": "administrative", "article": "488"}],
            "sources": ["witness"], "sensitivity": "normal", "may_publish": True,
            "withhold_names": rng.random() < 0.3, "contact": "",
        })
        intake.save(conn, store.config, body, [])
    conn.close()
    return store


def main() -> None:
    from werkzeug.serving import make_server

    from app.web.factory import create_operator_app

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="kuager-screens-") as tmp:
        store = build(Path(tmp, "store"))
        app = create_operator_app(store.config, store, {"KUAGER_DEFAULT_LOCALE": "kk"})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        shots = [
            ("stats-kk-390.png", "/review/stats?by=act&lang=kk", "390,1900"),
            ("stats-ru-1024.png", "/review/stats?by=month&lang=ru", "1024,1300"),
            ("briefing-en-1024.png", "/review/briefing?lang=en", "1024,2600"),
        ]
        try:
            for name, path, size in shots:
                target = OUT / name
                target.unlink(missing_ok=True)
                subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp}/profile",
                                f"--screenshot={target}", f"--window-size={size}",
                                base + path], check=True, capture_output=True, timeout=120)
                print(target.relative_to(ROOT))
        finally:
            server.shutdown()
            thread.join(timeout=10)
            store.lock()


if __name__ == "__main__":
    main()
