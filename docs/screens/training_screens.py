"""Screenshots of a workshop for docs/TRAINING.md, .kk.md, .ru.md (``make training-screens``).

    .venv/bin/python docs/screens/training_screens.py [--out FOLDER] [--lang kk|ru|en ...]

For each language, in a temporary folder laid out like the kit (``data/`` for the
participant's store, ``data/coordinator`` for the trainer's), a real Chromium walks the
workshop the way the guide tells it: the setup page with **Training store** ticked, a
report written in the form with a photo that carries a GPS position, the saved report
saying its metadata was removed, the fictional caseload (``kuager training seed``), the
trainer's key added and a bundle sealed onto a "stick" folder, the bundle imported on the
trainer's coordinator store (``kuager init --role coordinator --training``), the device
fingerprint on both sides, the Destroy section, Lock now, and the browser after
``kuager training reset``. The commands are the real CLI, run in this process.

Writes ``training-<step>-<lang>.png`` (``STEPS``) into FOLDER (default: this folder).
Everything is fictional: the seed's invented people, a report written here by an
invented monitor. The stores are thrown away; nothing is served beyond loopback.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _browser import PASSPHRASE, SIZE, Browser, cheap_kdf, expect, serve

HERE = Path(__file__).resolve().parent
LANGS = ("kk", "ru", "en")
#: The screenshots of one language, in the order of the workshop (the guides' plan), with
#: their sizes.
STEPS = {"setup": SIZE, "report": (1024, 1000), "photo": (1024, 480), "caseload": SIZE,
         "export": SIZE, "import": SIZE, "fingerprint": SIZE, "devices": SIZE,
         "destroy": (1024, 420), "lock": (1024, 420), "wipe": SIZE}
SEED = 5

#: The report a participant writes in step 2 (an invented monitor, invented people).
REPORT = {
    "kk": {"title": "Қонаев: жеке пикеттен кейін белсенді ұсталды",
           "description": "Ақерке Тасболова әкімдік алдында «Сайлау әділ болсын» деген "
                          "плакатпен жалғыз тұрды. Он минуттан кейін полиция оны бөлімшеге "
                          "алып кетті. Сот 488-бап бойынша 10 тәулік қамаққа алды.",
           "place": "Қонаев, әкімдік алдындағы алаң", "name": "Ақерке Тасболова",
           "label": "Тренер"},
    "ru": {"title": "Конаев: активистку задержали после одиночного пикета",
           "description": "Ирина Осокина стояла одна у акимата с плакатом «За честные выборы». "
                          "Через десять минут полиция доставила её в отдел. Суд назначил 10 "
                          "суток ареста по статье 488 КоАП.",
           "place": "Конаев, площадь у акимата", "name": "Ирина Осокина", "label": "Тренер"},
    "en": {"title": "Konaev: activist detained after a one-person picket",
           "description": "Dinara Kokzhalova stood alone outside the akimat with a placard "
                          "reading \"For fair elections\". Ten minutes later police took her to "
                          "the station. A court gave 10 days of arrest under article 488.",
           "place": "Konaev, square outside the akimat", "name": "Dinara Kokzhalova",
           "label": "Trainer"},
}


def names(lang: str) -> list[str]:
    """The files one language makes."""
    return [f"training-{step}-{lang}.png" for step in STEPS]


def said(lang: str, message: str) -> str:
    """``message`` as the pages say it in ``lang`` (to check the page before the shot)."""
    from app.i18n import load_catalog

    return str(load_catalog(lang).gettext(message))


def cli(*args: str, stdin: str = PASSPHRASE + "\n") -> str:
    """The kuager command, as the guide runs it (``./start ...``), in this process."""
    from click.testing import CliRunner

    from app.cli.main import main

    result = CliRunner().invoke(main, list(args), input=stdin)
    if result.exit_code != 0:
        raise RuntimeError(f"kuager {' '.join(args)}: {result.output}")
    return result.stdout


def photo(folder: Path) -> Path:
    """A phone photo with the camera, the time and a GPS position near Konaev in EXIF."""
    from PIL import Image

    from app.records import seed

    konaev = next(city for city in seed.CITIES if city.region == "almaty_region")
    data = seed.photo_with_gps(random.Random(SEED), konaev, "picket", date(2026, 3, 14))  # noqa: S311
    if not Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825):
        raise RuntimeError("the seed's photo has no GPS position: the step would show nothing")
    path = folder / "IMG_2041.jpg"
    path.write_bytes(data)
    return path


def device_fingerprint(data: Path) -> str:
    """The participant's device fingerprint, read from the store itself."""
    from app.config import Config
    from app.store import device
    from app.store.store import Store

    store = Store(Config(data_dir=data))
    store.unlock(PASSPHRASE)
    try:
        conn = store.connect()
        try:
            return device.fingerprint(conn)
        finally:
            conn.close()
    finally:
        store.lock()


class Workshop:
    """One language's run: the participant's store in a browser, the trainer's beside it."""

    def __init__(self, lang: str, tmp: Path, out: Path, browser: Browser) -> None:
        self.lang, self.tmp, self.out, self.browser = lang, tmp, out, browser
        self.data = tmp / "kit" / "data"
        self.trainer = self.data / "coordinator"
        self.stick = tmp / "KUAGER-STICK"
        self.stick.mkdir()
        self.fingerprint = ""
        self.stores: list[Any] = []

    def trainer_store(self) -> str:
        """Before the day: the trainer's coordinator store; returns its public key."""
        self.data.mkdir(mode=0o700, parents=True)
        return cli("--data", str(self.trainer), "init", "--role", "coordinator", "--training",
                   stdin=f"{PASSPHRASE}\n{PASSPHRASE}\n").strip().splitlines()[-1]

    def shot(self, step: str, scroll: str | None = None, offset: int = 8) -> None:
        self.browser.shot(self.out, f"training-{step}-{self.lang}.png", scroll=scroll,
                          offset=offset, size=STEPS[step])

    def run(self, field_url: str, coordinator_url: str, key: str) -> None:
        self.setup(field_url)
        self.report(field_url)
        self.caseload(field_url)
        self.export(field_url, key)
        self.import_bundle(coordinator_url)
        self.fingerprints(field_url, coordinator_url)
        self.lock(field_url)
        self.wipe(field_url)

    def setup(self, base: str) -> None:
        b = self.browser
        b.open(f"{base}/setup?lang={self.lang}")
        b.type('input[name="passphrase"]', PASSPHRASE)
        b.type('input[name="confirm"]', PASSPHRASE)
        b.choose('select[name="role"] option[value="field"]')
        b.choose("#training")
        self.shot("setup")
        b.submit('form [type="submit"]')
        expect(b.text(), said(self.lang, "Training store: fictional data only. Nothing here "
                                         "is a real report."))
        self.fingerprint = device_fingerprint(self.data)

    def report(self, base: str) -> None:
        b, text = self.browser, REPORT[self.lang]
        b.open(f"{base}/reports/new?lang={self.lang}")
        for name in ("title", "description", "place"):
            b.type(f'[name="{name}"]', text[name])
        b.type('[name="occurred_on"]', "2026-03")
        b.choose('select[name="occurred_precision"] option[value="month"]')
        b.choose('select[name="region"] option[value="almaty_region"]')
        for css in ('input[name="rights"][value="assembly"]',
                    'input[name="rights"][value="expression"]',
                    'input[name="acts"][value="detention_administrative"]',
                    'select[name="victims-0-role"] option[value="activist"]',
                    'input[name="victims-0-consent"]',
                    'select[name="perpetrators-0-kind"] option[value="police"]',
                    'select[name="legal-0-code"] option[value="administrative"]'):
            b.choose(css)
        b.type('[name="victims-0-name"]', text["name"])
        b.type('[name="legal-0-article"]', "488")
        b.type('input[name="attachments"]', str(photo(self.tmp)))
        self.shot("report")
        b.submit('[name="save"]')
        expect(b.text(), text["title"], said(self.lang, "metadata removed"))
        self.shot("photo", scroll="ul.files", offset=90)

    def caseload(self, base: str) -> None:
        cli("training", "seed", "--count", "20", "--seed", str(SEED), "--data", str(self.data))
        self.browser.open(f"{base}/reports?lang={self.lang}")
        expect(self.browser.text("p.count"), "21")  # the seeded twenty and the one by hand
        self.shot("caseload", scroll="p.count")

    def export(self, base: str, key: str) -> None:
        """The trainer's key added, a bundle sealed onto the stick."""
        b = self.browser
        b.open(f"{base}/exchange/export?lang={self.lang}")
        b.type('input[name="key"]', key)
        b.type('input[name="label"]', REPORT[self.lang]["label"])
        b.submit_same('form[action$="/exchange/recipients"] [type="submit"]')
        b.type('input[name="folder"]', str(self.stick))
        b.submit_same('form[action$="/exchange/export"] [type="submit"]')
        if not list(self.stick.glob("*.age")):
            raise RuntimeError(f"no bundle on the stick:\n{b.text()[:1500]}")
        self.shot("export")

    def import_bundle(self, base: str) -> None:
        b = self.browser
        b.open(f"{base}/exchange/import?lang={self.lang}")
        b.type('input[name="bundle"]', str(next(self.stick.glob("*.age"))))
        b.submit_same('main form [type="submit"]')
        expect(b.text(), self.fingerprint)  # the new device, announced with its fingerprint
        self.shot("import")

    def fingerprints(self, field: str, coordinator: str) -> None:
        b = self.browser
        b.open(f"{field}/settings/?lang={self.lang}")
        expect(b.text(), self.fingerprint)
        self.shot("fingerprint")
        b.open(f"{coordinator}/devices?lang={self.lang}")
        expect(b.text(), self.fingerprint, said(self.lang, "The fingerprint matches: confirm"))
        self.shot("devices")

    def lock(self, base: str) -> None:
        b = self.browser
        b.open(f"{base}/settings/?lang={self.lang}")
        self.shot("destroy", scroll="section.danger-zone", offset=16)
        b.submit("button.lock")
        expect(b.current_url(), "/unlock")
        self.shot("lock")

    def wipe(self, base: str) -> None:
        for store in self.stores:  # the workshop is over: Kuager is closed on every laptop
            store.lock()
        expect(cli("training", "reset", "--data", str(self.data), stdin=""),
               str(self.data), str(self.trainer))
        self.browser.open(f"{base}/reports?lang={self.lang}")
        expect(self.browser.current_url(), "/setup")
        self.shot("wipe")


def run_language(lang: str, out: Path) -> list[Path]:
    from app.config import Config
    from app.store.store import Store
    from app.web.factory import create_operator_app

    def site(store: Store) -> Any:
        return create_operator_app(store.config, store, {"KUAGER_DEFAULT_LOCALE": lang})

    with tempfile.TemporaryDirectory(prefix=f"kuager-training-{lang}-") as name:
        tmp = Path(name)
        workshop = Workshop(lang, tmp, out, browser := Browser(tmp))
        try:
            key = workshop.trainer_store()
            trainer = Store(Config(data_dir=workshop.trainer, default_locale=lang))
            trainer.unlock(PASSPHRASE)  # as `kuager serve` does with the passphrase typed
            field = Store(Config(data_dir=workshop.data, default_locale=lang))
            workshop.stores = [field, trainer]
            with serve(site(field)) as field_url, \
                    serve(site(trainer), host="localhost") as coordinator_url:
                workshop.run(field_url, coordinator_url, key)
        finally:
            browser.quit()
            for store in workshop.stores:
                store.lock()
        return browser.written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--lang", action="append", choices=LANGS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cheap_kdf()
    for lang in args.lang or LANGS:
        made = sorted(path.name for path in run_language(lang, args.out))
        if made != sorted(names(lang)):
            raise SystemExit(f"made {made}, expected {sorted(names(lang))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
