"""Every word of the shipped price table that an estimate shows is marked for translation
(services/pricing/texts.py), so that a new price entry cannot slip past the catalogs."""

from __future__ import annotations

from services.pricing import default_price_table
from services.pricing.texts import TABLE_TEXTS


def test_every_text_of_the_shipped_table_is_marked_for_translation() -> None:
    table = default_price_table()
    shown = {*table.regions.values(), *table.service_titles.values(),
             *(entry.unit for entry in table.entries),
             *(assumption.text for assumption in table.assumptions.values()),
             *(spec.note for spec in table.no_charge.values())}
    assert sorted(shown - TABLE_TEXTS) == [], (
        "add these to services/pricing/texts.py, then `make translations`")
