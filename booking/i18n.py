"""Finding the message catalogs.

The catalogs live in ``booking/translations/zh_CN`` and ``.../en``. Babel parses ``zh_CN`` into the locale
``zh_Hans_CN`` (it adds the script), and gettext's lookup never reduces that name to ``zh_CN``, so Flask-Babel alone
would fall back to the English msgids. This domain also looks each catalog up under ``language_territory``.
"""

import os
import time

from babel import support
from flask_babel import Babel, Domain, get_locale
from werkzeug.utils import cached_property

# Parsed catalogs by (locale, domain), each with the modification times of the files it was read from and when those
# were last looked at. Parsing a catalog takes milliseconds — a sizeable part of a short request — so it is done once
# per process and again only when a catalog is recompiled. The files are looked at again at most once a second: a
# request translates a dozen strings, and a look is two ``stat`` calls.
_loaded: dict[tuple, tuple[tuple, float, support.Translations]] = {}
RECHECK_SECONDS = 1.0


def catalog_names(locale) -> list[str]:
    """The catalog directory names to try for ``locale``: ``zh_CN`` before ``zh_Hans_CN``."""
    names = [str(locale)]
    if locale.script and locale.territory:
        names.insert(0, f"{locale.language}_{locale.territory}")
    return names


class CatalogDomain(Domain):
    def get_translations(self):
        locale = get_locale()
        if locale is None:  # outside an application context
            return support.NullTranslations()
        sources = [
            (dirname, self.domain[0] if len(self.domain) == 1 else self.domain[index])
            for index, dirname in enumerate(self.translation_directories)
        ]
        key = (str(locale), tuple(sources))
        cached = _loaded.get(key)
        looked = time.monotonic()
        if cached is not None and looked - cached[1] < RECHECK_SECONDS:
            return cached[2]
        stamp = tuple(_mtime(dirname, name, domain) for dirname, domain in sources for name in catalog_names(locale))
        if cached is not None and cached[0] == stamp:
            _loaded[key] = (stamp, looked, cached[2])
            return cached[2]
        translations = support.Translations()
        for dirname, domain in sources:
            catalog = support.Translations.load(dirname, catalog_names(locale), domain)
            translations.merge(catalog)
            if hasattr(catalog, "plural"):
                translations.plural = catalog.plural
        _loaded[key] = (stamp, looked, translations)
        return translations


def _mtime(dirname: str, name: str, domain: str) -> float | None:
    try:
        return os.stat(os.path.join(dirname, name, "LC_MESSAGES", f"{domain}.mo")).st_mtime_ns
    except OSError:
        return None


class PlatformBabel(Babel):
    """Flask-Babel with :class:`CatalogDomain` as its default domain."""

    @cached_property
    def domain_instance(self):
        return CatalogDomain(domain=self.domain)
