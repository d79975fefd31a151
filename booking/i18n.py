"""Finding the message catalogs.

The catalogs live in ``booking/translations/zh_CN`` and ``.../en``. Babel parses ``zh_CN`` into the locale
``zh_Hans_CN`` (it adds the script), and gettext's lookup never reduces that name to ``zh_CN``, so Flask-Babel alone
would fall back to the English msgids. This domain also looks each catalog up under ``language_territory``.
"""

from babel import support
from flask import g
from flask_babel import Babel, Domain, get_locale
from werkzeug.utils import cached_property


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
        # Kept for the application context, as Flask-Babel does, so that a recompiled catalog is read again.
        cache = g.setdefault("_booking_catalogs", {})
        key = (str(locale), self.domain[0])
        translations = cache.get(key)
        if translations is None:
            translations = support.Translations()
            for index, dirname in enumerate(self.translation_directories):
                domain = self.domain[0] if len(self.domain) == 1 else self.domain[index]
                catalog = support.Translations.load(dirname, catalog_names(locale), domain)
                translations.merge(catalog)
                if hasattr(catalog, "plural"):
                    translations.plural = catalog.plural
            cache[key] = translations
        return translations


class PlatformBabel(Babel):
    """Flask-Babel with :class:`CatalogDomain` as its default domain."""

    @cached_property
    def domain_instance(self):
        return CatalogDomain(domain=self.domain)
