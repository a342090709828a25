"""A template's cost before launch: totals for an hour, the lease and a month, every line with
what it counts, what it assumes and what it could not price.

The totals come first because they answer "can I afford this", the lines next because they
answer "why so much"; the assumptions and the prices' dates and sources are spelled out so the
student can tell an estimate from a bill.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import streamlit as st
from babel.numbers import get_currency_symbol

from portal.components.text import md_escape
from services.cost_service import CostEstimate, CostLine
from services.i18n import N_, _, current_locale, format_money, format_number, ngettext


def usd(amount: Decimal) -> str:
    """Dollars to the cent, or to a tenth of a cent below a dollar so small charges still show."""
    decimals = 3 if amount != 0 and abs(amount) < 1 else 2
    step = Decimal(1).scaleb(-decimals)
    return format_money(amount.quantize(step, rounding=ROUND_HALF_UP), decimals=decimals)


def _hours(hours: Decimal) -> str:
    # Plural only for exactly one hour (1.5 hours are hours too).
    return ngettext("{hours} hour", "{hours} hours", 1 if hours == 1 else 2).format(
        hours=format_number(hours.normalize()))


# The table's columns as shown; the rows keep the English keys.
COLUMN_LABELS = {"resource": N_("resource"), "what": N_("what"), "quantity": N_("quantity"),
                 "unit": N_("unit"), "assumption": N_("assumption"), "type": N_("type")}
MONEY_COLUMNS = {"unit price (USD)": (N_("unit price (USD)"), 4),
                 "per hour (USD)": (N_("per hour (USD)"), 4),
                 "lease (USD)": (N_("lease (USD)"), 2),
                 "per month (USD)": (N_("per month (USD)"), 2)}


def _column_config() -> dict[str, Any]:
    symbol = get_currency_symbol("USD", locale=current_locale())
    config: dict[str, Any] = {column: _(label) for column, label in COLUMN_LABELS.items()}
    config.update({column: st.column_config.NumberColumn(_(label), format=f"{symbol}%.{digits}f")
                   for column, (label, digits) in MONEY_COLUMNS.items()})
    return config


def _row(line: CostLine) -> dict[str, object]:
    return {
        "resource": line.resource,
        "what": line.description,
        "quantity": float(line.quantity) if not line.no_charge else None,
        "unit": line.unit,
        "unit price (USD)": float(line.unit_price_usd) if not line.no_charge else None,
        "per hour (USD)": float(line.hourly_usd),
        "lease (USD)": float(line.cost_usd),
        "per month (USD)": float(line.monthly_usd),
        "assumption": line.assumption or "",
        "type": line.type,
    }


def cost_estimate_view(estimate: CostEstimate, *, key: str) -> None:
    month = format_number(estimate.hours_per_month.normalize())
    per_hour, lease, per_month = st.columns(3)
    per_hour.metric(_("Per hour"), usd(estimate.total_hourly_usd))
    lease.metric(_("For the lease ({hours})").format(hours=_hours(estimate.hours)),
                 usd(estimate.total_usd))
    per_month.metric(_("Per month ({hours} hours)").format(hours=month),
                     usd(estimate.total_monthly_usd))

    if estimate.not_priced:
        items = "\n".join(f"- **{md_escape(item.resource)}** ({md_escape(item.type)}): "
                          f"{md_escape(item.reason)}" for item in estimate.not_priced)
        st.warning(_("**Not priced - the totals above exclude these:**") + "\n\n" + items,
                   icon=":material/warning:")

    rows = [_row(line) for line in estimate.priced_lines + estimate.no_charge_lines]
    st.dataframe(rows, hide_index=True, width="stretch", key=f"{key}.lines",
                 column_config=_column_config())
    free = len(estimate.no_charge_lines)
    if free:
        st.caption(_("{count} resources cost nothing by themselves; they are listed last as "
                     "\"no charge\".").format(count=free))

    st.markdown(_("**Assumptions**") + "\n\n" + "\n".join(f"- {md_escape(text)}"
                                                         for text in estimate.assumptions))
    # ISO dates: the day the prices were read, the same in every language.
    dates = ", ".join(d.isoformat() for d in estimate.price_dates) or "-"
    sources = " · ".join(estimate.price_sources) or "-"
    st.caption(_("Prices checked on {dates}, from {sources}").format(dates=dates,
                                                                     sources=sources))


# AWS's own names of the regions, as its console shows them in each language.
REGION_NAMES = {"us-east-1": N_("US East (N. Virginia)"),
                "ap-northeast-2": N_("Asia Pacific (Seoul)")}


def cost_estimates_by_region(estimates: dict[str, CostEstimate], *, key: str) -> None:
    """One estimate per region, chosen with a control; the first region is shown first."""
    regions = list(estimates)
    if not regions:
        st.info(_("No region has prices."), icon=":material/money_off:")
        return
    chosen = st.segmented_control(
        _("Region"), regions, default=regions[0], key=f"{key}.region",
        format_func=lambda r: f"{r} · {_(REGION_NAMES[r])}" if r in REGION_NAMES else r,
        help=_("Prices differ by region; the portal launches in the first one."))
    cost_estimate_view(estimates[chosen or regions[0]], key=f"{key}.{chosen or regions[0]}")
