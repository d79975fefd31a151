"""The build step that makes an installed package complete (the metadata is in pyproject.toml).

The message catalogs are compiled beside their sources (as ``make translations`` does) and go into the package with
the templates, static files and migrations, which the checkout keeps beside the package. ``booking.resources``
finds each folder inside the installed package or beside it in the checkout.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
TRANSLATIONS = ROOT / "booking" / "translations"
DATA_FOLDERS = ("templates", "static", "migrations")


def compile_catalogs() -> list[Path]:
    """Compile every ``messages.po`` into its ``messages.mo`` (fuzzy entries included, as ``make translations``)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as target:
            write_mo(target, catalog, use_fuzzy=True)
        compiled.append(mo)
    return compiled


class BuildPy(build_py):
    def run(self):
        catalogs = compile_catalogs()
        super().run()
        if self.editable_mode:  # an editable install reads everything from the checkout
            return
        package = Path(self.build_lib) / "booking"
        for mo in catalogs:
            target = package / mo.relative_to(ROOT / "booking")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(mo, target)
        for name in DATA_FOLDERS:
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, package / name, ignore=ignore, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPy})
