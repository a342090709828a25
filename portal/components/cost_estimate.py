"""A template's cost before launch: totals for an hour, the lease and a month, every line with
what it counts, what it assumes and what it could not price.

The totals come first because they answer "can I afford this", the lines next because they
answer "why so much"; the assumptions and the prices' dates and sources are spelled out so the
student can tell an estimate from a bill.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import streamlit as st

from portal.components.text import md_escape
from services.cost_service import CostEstimate, CostLine


def usd(amount: Decimal) -> str:
    """Dollars to the cent, or to a tenth of a cent below a dollar so small charges still show."""
    step = Decimal("0.001") if amount != 0 and abs(amount) < 1 else Decimal("0.01")
    return f"${amount.quantize(step, rounding=ROUND_HALF_UP):,}"


def _hours(hours: Decimal) -> str:
    text = format(hours.normalize(), "f")
    return f"{text} hour" if hours == 1 else f"{text} hours"


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
    month = format(estimate.hours_per_month.normalize(), "f")
    per_hour, lease, per_month = st.columns(3)
    per_hour.metric("Per hour", usd(estimate.total_hourly_usd))
    lease.metric(f"For the lease ({_hours(estimate.hours)})", usd(estimate.total_usd))
    per_month.metric(f"Per month ({month} hours)", usd(estimate.total_monthly_usd))

    if estimate.not_priced:
        items = "\n".join(f"- **{md_escape(item.resource)}** ({md_escape(item.type)}): "
                          f"{md_escape(item.reason)}" for item in estimate.not_priced)
        st.warning("**Not priced - the totals above exclude these:**\n\n" + items,
                   icon=":material/warning:")

    rows = [_row(line) for line in estimate.priced_lines + estimate.no_charge_lines]
    money = st.column_config.NumberColumn(format="$%.4f")
    st.dataframe(
        rows, hide_index=True, width="stretch", key=f"{key}.lines",
        column_config={"unit price (USD)": money, "per hour (USD)": money,
                       "lease (USD)": st.column_config.NumberColumn(format="$%.2f"),
                       "per month (USD)": st.column_config.NumberColumn(format="$%.2f")})
    free = len(estimate.no_charge_lines)
    if free:
        st.caption(f"{free} resources cost nothing by themselves; they are listed last as "
                   "\"no charge\".")

    st.markdown("**Assumptions**\n\n" + "\n".join(f"- {md_escape(text)}"
                                                   for text in estimate.assumptions))
    dates = ", ".join(d.isoformat() for d in estimate.price_dates) or "-"
    sources = " · ".join(estimate.price_sources) or "-"
    st.caption(f"Prices checked on {dates}, from {sources}")


REGION_NAMES = {"us-east-1": "US East (N. Virginia)", "ap-northeast-2": "Asia Pacific (Seoul)"}


def cost_estimates_by_region(estimates: dict[str, CostEstimate], *, key: str) -> None:
    """One estimate per region, chosen with a control; the first region is shown first."""
    regions = list(estimates)
    if not regions:
        st.info("No region has prices.", icon=":material/money_off:")
        return
    chosen = st.segmented_control(
        "Region", regions, default=regions[0], key=f"{key}.region",
        format_func=lambda r: f"{r} · {REGION_NAMES[r]}" if r in REGION_NAMES else r,
        help="Prices differ by region; the portal launches in the first one.")
    cost_estimate_view(estimates[chosen or regions[0]], key=f"{key}.{chosen or regions[0]}")
