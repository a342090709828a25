"""The language a person reads the portal in: gettext catalogs compiled by Babel, and Babel's
number, currency and date formats for that language.

Every text a student or instructor can see is written in English inside `_()` (or `N_()` where it
is defined before anyone's language is known, and translated with `_()` where it is shown). The
Korean lives in `locales/ko/LC_MESSAGES/<domain>.po`, one catalog per part of the tree
(`DOMAINS`); `make translations` extracts new strings into them and compiles them to `.mo`.

The language is that of the person the code runs for: a `use_locale` block sets it, and the UI
registers a provider that reads the browser session's choice (portal/locale.py). Nothing sets it
for the CLI and the workers, so they, and everything stored in the history database, stay
English.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.support import Translations

ENGLISH = "en"
KOREAN = "ko"
SUPPORTED_LOCALES: tuple[str, ...] = (ENGLISH, KOREAN)
DEFAULT_LOCALE = ENGLISH
# Each part of the tree has a catalog of its own, so that its strings are extracted from its
# own files: the pages and components, the services' messages, the built-in templates' text.
DOMAINS: tuple[str, ...] = ("pages", "components", "charts", "services", "advisor", "templates")
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"
# How each language names itself, for the switch that picks one.
LANGUAGE_NAMES = {ENGLISH: "English", KOREAN: "한국어"}

# Set inside `use_locale` blocks; None elsewhere, where the registered provider decides.
_current_locale: ContextVar[str | None] = ContextVar("portal_locale", default=None)
# Where the language of the code running now comes from when no block set it: the UI registers
# one that reads the browser session's choice, because Streamlit runs each rerun and each
# fragment on a thread of its own. None (the CLI, the workers): English.
_locale_provider: Callable[[], str | None] | None = None


def negotiate(requested: str | None) -> str:
    """The supported language closest to a browser's `requested` one (`ko-KR`, `en-US`, `ko`);
    English for anything else, including nothing."""
    if not requested:
        return DEFAULT_LOCALE
    tag = requested.replace("-", "_").split(",")[0].split(";")[0].strip()
    try:
        language = Locale.parse(tag).language
    except (ValueError, UnknownLocaleError):
        return DEFAULT_LOCALE
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


def is_supported(locale: str | None) -> bool:
    return locale in SUPPORTED_LOCALES


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def translations(locale: str) -> _gettext.NullTranslations:
    """Every domain's compiled catalog for `locale`, merged into one. English is the source
    language: its catalog is the messages themselves."""
    if locale == ENGLISH or not is_supported(locale):
        return _gettext.NullTranslations()
    merged: Translations | None = None
    for domain in DOMAINS:
        loaded = Translations.load(str(LOCALE_DIR), [locale], domain)
        if not isinstance(loaded, Translations):
            # No .mo for this domain: `make translations` compiles them from the .po files.
            continue
        if merged is None:
            merged = loaded
        else:
            merged.merge(loaded)
    return merged if merged is not None else _gettext.NullTranslations()


def set_locale_provider(provider: Callable[[], str | None] | None) -> None:
    """Registers where the current language comes from outside `use_locale` blocks."""
    global _locale_provider
    _locale_provider = provider


def current_locale() -> str:
    locale = _current_locale.get()
    if locale is None and _locale_provider is not None:
        locale = _locale_provider()
    return locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE


@contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Read and format in `locale` inside the block (English if it is not supported)."""
    token = _current_locale.set(locale if is_supported(locale) else DEFAULT_LOCALE)
    try:
        yield current_locale()
    finally:
        _current_locale.reset(token)


def gettext(message: str) -> str:
    """`message` in the current language (itself where no translation exists)."""
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 - gettext's own name for "mark, translate later"
    """Marks `message` for extraction without translating it: for texts defined before anyone's
    language is known (module constants), translated with `_()` where they are shown."""
    return message


_ = gettext


def format_number(value: float | int | Decimal, *, decimals: int | None = None) -> str:
    locale = current_locale()
    if decimals is None:
        return babel_numbers.format_decimal(value, locale=locale)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=locale)


def format_percent(fraction: float, *, decimals: int = 0) -> str:
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return babel_numbers.format_percent(fraction, format=pattern, locale=current_locale())


def format_money(amount: float | Decimal, currency: str = "USD", *, decimals: int = 2) -> str:
    """An amount in `currency` (AWS bills in US dollars) as the current language writes it:
    `$1,234.50` in English, `US$1,234.50` in Korean."""
    pattern = None if decimals == 2 else "¤#,##0" + ("." + "0" * decimals if decimals else "")
    return babel_numbers.format_currency(amount, currency, format=pattern,
                                         locale=current_locale(),
                                         currency_digits=pattern is None)


def format_datetime(moment: datetime, *, style: str = "medium") -> str:
    """A moment as the current language writes it, in UTC (the portal's clock)."""
    return babel_dates.format_datetime(moment, format=style, tzinfo=babel_dates.UTC,
                                       locale=current_locale())


def format_date(day: date | datetime, *, style: str = "medium") -> str:
    return babel_dates.format_date(day, format=style, locale=current_locale())


def format_duration(seconds: float) -> str:
    """A span such as 3 hours or 45 minutes, in words of the current language."""
    return babel_dates.format_timedelta(seconds, locale=current_locale(),
                                        threshold=1.5)
