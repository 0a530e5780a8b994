"""Build step only: compile the gettext catalogs into .mo files inside the wheel.

Everything else about the package lives in pyproject.toml. ``pip install .`` and wheel
builds run ``build_py``; this subclass compiles ``translations/*/LC_MESSAGES/*.po`` into
``.mo`` files next to them in the build directory (the source tree is left alone, and
the ``.mo`` files are never committed). Fuzzy entries are left out, as at run time.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo  # build requirement (pyproject.toml)
        from babel.messages.pofile import read_po

        for po_path in sorted(Path(self.build_lib, "translations").glob("*/LC_MESSAGES/*.po")):
            locale = po_path.parent.parent.name
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=locale, domain=po_path.stem)
            errors = [(m.id, errs) for m, errs in catalog.check()]
            if errors:
                raise SystemExit(f"{po_path}: {errors}")
            with po_path.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)
            self.announce(f"compiled {po_path.with_suffix('.mo')}", level=2)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
