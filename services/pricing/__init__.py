"""AWS list prices for the cost estimate: the shipped table and its validating loader."""

from __future__ import annotations

from services.pricing.price_table import (
    DEFAULT_PATH,
    Assumption,
    NoChargeType,
    PriceEntry,
    PriceTable,
    PriceTableError,
    default_price_table,
    load_price_table,
)

__all__ = ["DEFAULT_PATH", "Assumption", "NoChargeType", "PriceEntry", "PriceTable",
           "PriceTableError", "default_price_table", "load_price_table"]
