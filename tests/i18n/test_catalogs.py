"""Every string a student or instructor can see has its Korean, and every catalog is whole.

The strings are extracted from the sources the way `make translations` does (the Makefile's own
`translations-pot` step, into a folder of this test's), then each one is looked up in the Korean
catalog that is committed. A new visible string without a translation fails here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from services import i18n

ROOT = Path(__file__).resolve().parents[2]
# `{name}` and `{name!r}`, `{count:,}`: str.format fields, which a translation must keep.
FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Catalog]:
    pot_dir = tmp_path_factory.mktemp("pot")
    subprocess.run(["make", "-s", "translations-pot", f"POT_DIR={pot_dir}"], cwd=ROOT,
                   check=True, capture_output=True, timeout=300)
    catalogs = {}
    for domain in i18n.DOMAINS:
        with (pot_dir / f"{domain}.pot").open("rb") as pot:
            catalogs[domain] = read_po(pot)
    return catalogs


def korean(domain: str) -> Catalog:
    with (i18n.LOCALE_DIR / "ko" / "LC_MESSAGES" / f"{domain}.po").open("rb") as po:
        return read_po(po)


def msgids(catalog: Catalog) -> dict[str, object]:
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_every_visible_string_has_a_korean_translation(extracted: dict[str, Catalog],
                                                        domain: str) -> None:
    translated = msgids(korean(domain))
    missing = []
    for msgid in msgids(extracted[domain]):
        message = translated.get(msgid)
        strings = () if message is None else (
            message.string if isinstance(message.string, tuple) else (message.string,))
        if message is None or message.fuzzy or not all(strings):
            missing.append(msgid)
    assert not missing, (f"{len(missing)} strings of the {domain!r} catalog have no Korean "
                         f"(run `make translations` and translate them in "
                         f"locales/ko/LC_MESSAGES/{domain}.po): {missing[:20]}")


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_translations_keep_every_placeholder(domain: str) -> None:
    wrong = []
    for message in korean(domain):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(FIELD.findall(text) for text in ids))
        for text in strings:
            if set(FIELD.findall(text)) != wanted:
                wrong.append((message.id, text))
    assert not wrong, f"translations that lose or add a {{field}}: {wrong[:10]}"


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_korean_catalogs_are_korean(domain: str) -> None:
    """A translation that is the English again is no translation (short codes aside)."""
    copied = [m.id for m in korean(domain)
              if m.id and isinstance(m.string, str) and m.string and not HANGUL.search(m.string)
              and len(re.findall(r"[A-Za-z]{3,}", FIELD.sub("", m.id))) > 2]
    assert not copied, f"translations with no Korean in them: {copied[:10]}"


def test_the_compiled_catalogs_translate_at_runtime() -> None:
    i18n.translations.cache_clear()
    with i18n.use_locale("ko"):
        assert i18n._("Sign out") != "Sign out"
        assert HANGUL.search(i18n._("Sign out"))
    with i18n.use_locale("en"):
        assert i18n._("Sign out") == "Sign out"
    assert i18n._("Sign out") == "Sign out"  # nobody's language set: English (the CLI)


def test_a_string_in_two_catalogs_reads_the_same_in_both() -> None:
    """The catalogs are merged at runtime (services/i18n.py): one English string gets one
    Korean, whichever part of the tree draws it."""
    seen: dict[str, tuple[str, object]] = {}
    differing = []
    for domain in i18n.DOMAINS:
        for message in korean(domain):
            if not message.id or not message.string:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            if key in seen and seen[key][1] != message.string:
                differing.append((key, seen[key], (domain, message.string)))
            seen.setdefault(key, (domain, message.string))
    assert not differing, f"one English string, two Korean ones: {differing[:10]}"
