"""The cost estimate view: totals as metrics, lines priced then free, what is not priced and every
assumption in plain sight, the prices' date and source in the caption."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from streamlit.testing.v1 import AppTest

from portal.components.cost_estimate import usd
from portal.components.text import md_escape
from services.cost_service import CostEstimate, estimate
from services.template_model import resolve_template

RESOURCES = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "Server": {"Type": "AWS::EC2::Instance",
               "Properties": {"InstanceType": "t3.micro", "ImageId": "ami-1"}},
    "Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
           "Properties": {"Subnets": ["subnet-a", "subnet-b"]}},
    "Cluster": {"Type": "AWS::EKS::Cluster", "Properties": {}},
}


def sample(hours: float = 4) -> CostEstimate:
    resolved = resolve_template({"Resources": RESOURCES}, {}, region="us-east-1")
    return estimate(resolved, hours=hours, on=date(2026, 11, 23))


def view_app(result: "CostEstimate") -> None:  # run as a script: no postponed annotations
    from portal.components.cost_estimate import cost_estimate_view

    cost_estimate_view(result, key="launch.cost")


def test_totals_lines_not_priced_assumptions_and_sources_are_shown() -> None:
    result = sample(hours=4)
    at = AppTest.from_function(view_app, args=(result,)).run()
    assert not at.exception

    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Per hour": usd(result.total_hourly_usd),
                       "For the lease (4 hours)": usd(result.total_usd),
                       "Per month (730 hours)": usd(result.total_monthly_usd)}
    assert metrics["Per month (730 hours)"].startswith("$") and "." in metrics["Per hour"]

    table = at.dataframe[0].value
    assert list(table["resource"]) == ["Server", "Server", "Server", "Lb", "Lb", "Lb", "Vpc"]
    assert list(table["unit"])[-1] == "no charge"
    assert abs(table["lease (USD)"].sum() - float(result.total_usd)) < 1e-9
    assert any("LCU" in text for text in table["assumption"])

    warning = at.warning[0].value
    assert "**Cluster**" in warning and md_escape("AWS::EKS::Cluster") in warning
    assert "exclude" in warning

    markdown = "\n".join(m.value for m in at.markdown)
    assert "Assumptions" in markdown
    assert "1 LCU on average each hour" in markdown
    captions = "\n".join(c.value for c in at.caption)
    assert "2026-11-23" in captions
    assert "https://aws.amazon.com/elasticloadbalancing/pricing/" in captions
    assert "https://aws.amazon.com/ec2/pricing/on-demand/" in captions


def test_without_anything_unpriced_there_is_no_warning() -> None:
    resources = {k: v for k, v in RESOURCES.items() if k != "Cluster"}
    resolved = resolve_template({"Resources": resources}, {}, region="ap-northeast-2")
    result = estimate(resolved, hours=1)
    at = AppTest.from_function(view_app, args=(result,)).run()
    assert not at.exception
    assert not at.warning
    assert [m.label for m in at.metric][1] == "For the lease (1 hour)"


def test_money_shows_cents_and_small_amounts_keep_a_tenth_of_a_cent() -> None:
    assert usd(Decimal("12.345")) == "$12.35"
    assert usd(Decimal("1234.5")) == "$1,234.50"
    assert usd(Decimal("0.0104")) == "$0.010"
    assert usd(Decimal(0)) == "$0.00"
    assert usd(Decimal("0.0005")) == "$0.001"
