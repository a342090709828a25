"""The shipped price table: every figure dated, sourced and positive; every key the estimate needs
present in both regions; a broken table refused as a whole with the rule it breaks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import pytest
import yaml

from services.pricing import DEFAULT_PATH, PriceTableError, default_price_table, load_price_table
from tests.templates_support import catalog

REGIONS = ("us-east-1", "ap-northeast-2")


def _allowed(parameter: str) -> set[str]:
    """Every value a template lets a student pick for `parameter`."""
    values: set[str] = set()
    for manifest in catalog().all_templates():
        spec = manifest.parameter(parameter)
        if spec is not None:
            values |= {str(v) for v in spec.allowed or [spec.default]}
    return values


def required_keys() -> dict[str, set[str]]:
    """Price keys the estimate looks up for the shipped templates, whatever a student picks."""
    instance_types = _allowed("instance_type") | {"t3a.micro", "t4g.micro"}
    db_classes = _allowed("db_instance_class")
    cache_types = _allowed("cache_node_type")
    return {
        "ec2_instance": instance_types,
        "ebs_volume": {"gp2", "gp3"},
        "alb": {"hour", "lcu_hour"},
        "nat_gateway": {"hour", "gb_processed"},
        "public_ipv4": {"address_hour"},
        "rds_instance": {f"{engine}/{cls}/{az}" for engine in ("mysql", "mariadb")
                         for cls in db_classes | {"db.t3.micro", "db.t4g.micro", "db.t3.small",
                                                  "db.m6g.large"}
                         for az in ("single-az", "multi-az")},
        "rds_storage": {f"{kind}/{az}" for kind in ("gp2", "gp3")
                        for az in ("single-az", "multi-az")},
        "rds_extended_support": {"mysql/8.0"},
        "elasticache_node": {f"redis/{t}" for t in cache_types
                             | {"cache.t3.micro", "cache.t4g.micro", "cache.t3.small"}},
        "waf": {"web_acl_month", "rule_month", "million_requests"},
        "s3": {"standard_gb_month"},
        "secrets_manager": {"secret_month"},
        "cloudwatch_alarm": {"standard", "high_resolution"},
        "cloudwatch_logs": {"ingestion_gb"},
    }


def test_the_shipped_table_loads_and_every_entry_is_dated_sourced_and_positive() -> None:
    table = load_price_table()
    assert table.hours_per_month == Decimal(730)
    assert set(table.regions) == set(REGIONS)
    assert len(table.entries) > 80
    for entry in table.entries:
        where = f"{entry.service}/{entry.key} ({entry.region})"
        assert isinstance(entry.as_of, date), where
        assert entry.as_of <= date.today(), where
        url = urlparse(entry.source)
        assert url.scheme == "https" and url.hostname == "aws.amazon.com", where
        assert entry.unit.strip(), where
        assert entry.usd > 0, where
        assert entry.billed in ("per-hour", "per-month", "per-use"), where


@pytest.mark.parametrize("region", REGIONS)
def test_both_regions_price_every_key_the_estimate_uses(region: str) -> None:
    table = default_price_table()
    for service, keys in required_keys().items():
        missing = sorted(k for k in keys if table.price(region, service, k) is None)
        assert not missing, f"{service} in {region}: {missing}"
    for cls in _allowed("db_instance_class"):
        assert table.rds_vcpus[cls] >= 1


def test_the_required_keys_follow_the_templates_choices() -> None:
    # Guards the guard: the manifests really offer these, so the test above reads them.
    assert {"t3.micro", "t3.small", "m6i.large"} <= _allowed("instance_type")
    assert {"db.t3.micro", "db.m6g.large"} <= _allowed("db_instance_class")
    assert {"cache.t3.micro"} <= _allowed("cache_node_type")


def test_every_usage_assumption_is_stated_with_its_unit() -> None:
    table = default_price_table()
    for name in ("alb_lcu_per_hour", "nat_gb_per_hour", "waf_million_requests_per_hour",
                 "s3_storage_gb", "logs_gb_per_hour", "root_volume_gib"):
        assumption = table.assumption(name)
        assert assumption.value > 0 and assumption.unit and len(assumption.text) > 20


def test_seoul_compute_costs_more_than_virginia() -> None:
    table = default_price_table()
    for service in ("ec2_instance", "rds_instance", "elasticache_node", "nat_gateway"):
        for key in table.keys("us-east-1", service):
            virginia = table.price("us-east-1", service, key)
            seoul = table.price("ap-northeast-2", service, key)
            assert virginia and seoul, key
            assert seoul.usd >= virginia.usd, f"{service}/{key}"
            # Seoul's RDS runs about 50% above Virginia's (db.t3.micro: 0.026 against 0.017).
            assert seoul.usd <= virginia.usd * Decimal("1.6"), f"{service}/{key}"


def test_reference_figures_of_us_east_1() -> None:
    table = default_price_table()

    def usd(service: str, key: str) -> Decimal:
        entry = table.price("us-east-1", service, key)
        assert entry is not None
        return entry.usd

    assert usd("ec2_instance", "t3.micro") == Decimal("0.0104")
    assert usd("ebs_volume", "gp3") == Decimal("0.08")
    assert (usd("alb", "hour"), usd("alb", "lcu_hour")) == (Decimal("0.0225"), Decimal("0.008"))
    assert usd("nat_gateway", "hour") == usd("nat_gateway", "gb_processed") == Decimal("0.045")
    assert usd("public_ipv4", "address_hour") == Decimal("0.005")
    assert usd("rds_instance", "mariadb/db.t3.micro/single-az") == Decimal("0.017")
    assert usd("rds_instance", "mariadb/db.t3.micro/multi-az") == Decimal("0.034")
    assert usd("elasticache_node", "redis/cache.t3.micro") == Decimal("0.017")
    assert usd("waf", "web_acl_month") == 5 and usd("waf", "rule_month") == 1
    assert usd("waf", "million_requests") == Decimal("0.60")
    assert usd("s3", "standard_gb_month") == Decimal("0.023")
    assert usd("secrets_manager", "secret_month") == Decimal("0.40")
    assert usd("cloudwatch_alarm", "standard") == Decimal("0.10")
    assert usd("cloudwatch_logs", "ingestion_gb") == Decimal("0.50")


def test_burstable_types_carry_their_cpu_baseline() -> None:
    table = default_price_table()
    for region in REGIONS:
        assert table.price(region, "ec2_instance", "t3.micro").burstable_baseline_pct == 10
        assert table.price(region, "ec2_instance", "t3.small").burstable_baseline_pct == 20
        assert table.price(region, "ec2_instance", "m6i.large").burstable_baseline_pct is None


# -- broken tables ---------------------------------------------------------------------------------
def _raw() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_PATH.read_text())


def _t3_micro(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["services"]["ec2_instance"]["prices"]["us-east-1"]["t3.micro"]


def _drop_as_of(raw: dict[str, Any]) -> None:
    del raw["services"]["ec2_instance"]["as_of"]


def _bad_source(raw: dict[str, Any]) -> None:
    _t3_micro(raw)["source"] = "http://example.com/prices"


def _negative(raw: dict[str, Any]) -> None:
    _t3_micro(raw)["usd"] = -0.0104


def _zero(raw: dict[str, Any]) -> None:
    raw["services"]["s3"]["prices"]["us-east-1"]["standard_gb_month"] = 0


def _no_unit(raw: dict[str, Any]) -> None:
    del raw["services"]["public_ipv4"]["unit"]


def _text_price(raw: dict[str, Any]) -> None:
    _t3_micro(raw)["usd"] = "cheap"


def _missing_region(raw: dict[str, Any]) -> None:
    del raw["services"]["waf"]["prices"]["ap-northeast-2"]


def _undeclared_region(raw: dict[str, Any]) -> None:
    raw["services"]["s3"]["prices"]["eu-west-1"] = {"standard_gb_month": 0.023}


def _bad_date(raw: dict[str, Any]) -> None:
    raw["services"]["ebs_volume"]["as_of"] = "last spring"


def _unknown_field(raw: dict[str, Any]) -> None:
    _t3_micro(raw)["discount"] = 0.5


@pytest.mark.parametrize(("breaks", "named"), [
    (_drop_as_of, "as_of"),
    (_bad_source, "source"),
    (_negative, "ec2_instance/t3.micro (us-east-1)"),
    (_zero, "s3/standard_gb_month (us-east-1)"),
    (_no_unit, "unit"),
    (_text_price, "usd"),
    (_missing_region, "waf: no prices for region ap-northeast-2"),
    (_undeclared_region, "region eu-west-1 is not declared"),
    (_bad_date, "as_of"),
    (_unknown_field, "discount"),
], ids=lambda case: getattr(case, "__name__", None))
def test_a_broken_table_is_refused_naming_the_rule(tmp_path: Path,
                                                   breaks: Callable[[dict[str, Any]], None],
                                                   named: str) -> None:
    raw = _raw()
    breaks(raw)
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PriceTableError) as caught:
        load_price_table(path)
    assert caught.value.path == path
    assert any(named in problem for problem in caught.value.problems), caught.value.problems
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("text", ["", "just words", "services: [1, 2]", "hours_per_month: [",
                                  "regions: {us-east-1: x}\nservices: {}"])
def test_a_table_that_is_not_a_table_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(PriceTableError):
        load_price_table(path)


def test_a_missing_file_is_a_price_table_error(tmp_path: Path) -> None:
    with pytest.raises(PriceTableError, match="cannot be read"):
        load_price_table(tmp_path / "nowhere.yaml")


def test_an_unbroken_copy_loads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(_raw()))
    copy = load_price_table(path)

    def by_key(entries: list) -> dict:
        return {(e.region, e.service, e.key): e for e in entries}

    assert by_key(copy.entries) == by_key(default_price_table().entries)
