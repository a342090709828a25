"""The price table shipped with the portal (`prices.yaml`), validated when it is loaded.

Every price is a `PriceEntry` that carries its unit, the date it was checked and the AWS pricing
page it comes from, so whoever reads an estimate can see how old each figure is and check it.
A table that breaks any rule is refused as a whole with `PriceTableError`: an estimate built on
half a table would be wrong without saying so.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator,
                      model_validator)

from services.errors import PortalError

DEFAULT_PATH = Path(__file__).resolve().parent / "prices.yaml"

Billed = Literal["per-hour", "per-month", "per-use"]
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1)]

# Fields a service or a branch of its prices may set for every entry below it.
_INHERITED = ("unit", "billed", "as_of", "source", "confirmed")


class PriceTableError(PortalError):
    """The price table cannot be used; `problems` lists every broken rule."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = list(problems)
        listed = "; ".join(self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"price table {path}: {listed}{more}")


def _aws_page(url: str) -> str:
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if parsed.scheme != "https" or not (host == "amazon.com" or host.endswith(".amazon.com")):
        raise ValueError(f"must be an https address of an AWS page (amazon.com), not {url!r}")
    return url


class PriceEntry(BaseModel):
    """One price: `usd` per `unit` in `region`, as checked on `as_of` against `source`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: Text
    service: Text
    key: Text
    usd: PositiveDecimal
    unit: Text
    billed: Billed
    as_of: date
    source: Text
    # False: the last known list price, not checked against a current page or bill.
    confirmed: bool = True
    burstable_baseline_pct: Annotated[int, Field(gt=0, le=100)] | None = None
    # Charges that begin on a date (RDS Extended Support) apply only from then on.
    starts: date | None = None

    @field_validator("source")
    @classmethod
    def _source_is_an_aws_page(cls, value: str) -> str:
        return _aws_page(value)


class Assumption(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    value: PositiveDecimal
    unit: Text
    text: Text


class NoChargeType(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    note: Text
    source: Text

    @field_validator("source")
    @classmethod
    def _source_is_an_aws_page(cls, value: str) -> str:
        return _aws_page(value)


class PriceTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hours_per_month: PositiveDecimal
    # Region code -> its name, e.g. "ap-northeast-2" -> "Asia Pacific (Seoul)".
    regions: dict[str, Text]
    assumptions: dict[str, Assumption]
    no_charge: dict[str, NoChargeType]
    rds_vcpus: dict[str, Annotated[int, Field(gt=0)]]
    service_titles: dict[str, Text]
    entries: list[PriceEntry]
    _index: dict[tuple[str, str, str], PriceEntry] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._index = {(e.region, e.service, e.key): e for e in self.entries}

    @model_validator(mode="after")
    def _every_service_in_every_region(self) -> PriceTable:
        problems = []
        for service in self.service_titles:
            covered = {e.region for e in self.entries if e.service == service}
            problems += [f"{service}: no prices for region {region}"
                         for region in self.regions if region not in covered]
        problems += [f"{e.service}/{e.key}: region {e.region} is not declared under regions"
                     for e in self.entries if e.region not in self.regions]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def price(self, region: str, service: str, key: str) -> PriceEntry | None:
        return self._index.get((region, service, key))

    def keys(self, region: str, service: str) -> list[str]:
        return [e.key for e in self.entries if e.region == region and e.service == service]

    def assumption(self, name: str) -> Assumption:
        return self.assumptions[name]


def _decimal(value: Any) -> Any:
    # YAML reads 0.0104 as a binary float; its shortest repr is the figure that was written.
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _flatten(service: str, region: str, node: Any, inherited: dict[str, Any],
             prefix: str = "") -> list[dict[str, Any]]:
    """Entries of one service and region. A leaf is a number or a mapping with `usd`; any
    other mapping is a branch whose keys join the entry key with '/'."""
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return [{**inherited, "region": region, "service": service, "key": prefix,
                 "usd": _decimal(node)}]
    if not isinstance(node, dict):
        return [{**inherited, "region": region, "service": service, "key": prefix,
                 "usd": node}]
    if "usd" in node:
        fields = {k: _decimal(v) for k, v in node.items()}
        return [{**inherited, **fields, "region": region, "service": service, "key": prefix}]
    here = {**inherited, **{k: node[k] for k in _INHERITED if k in node}}
    entries: list[dict[str, Any]] = []
    for name, child in node.items():
        if name in _INHERITED:
            continue
        key = f"{prefix}/{name}" if prefix else str(name)
        entries += _flatten(service, region, child, here, key)
    return entries


def _table_fields(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("the table must be a mapping with hours_per_month, regions and services")
    services = raw.get("services")
    if not isinstance(services, dict) or not services:
        raise ValueError("services: missing or empty")
    entries: list[dict[str, Any]] = []
    titles: dict[str, Any] = {}
    for service, block in services.items():
        if not isinstance(block, dict) or not isinstance(block.get("prices"), dict):
            raise ValueError(f"services.{service}: needs a prices mapping by region")
        titles[service] = block.get("title")
        defaults = {k: block[k] for k in _INHERITED if k in block}
        for region, node in block["prices"].items():
            entries += _flatten(str(service), str(region), node, defaults)
    assumptions = {name: {k: _decimal(v) for k, v in spec.items()} if isinstance(spec, dict)
                   else spec for name, spec in (raw.get("assumptions") or {}).items()}
    return {"hours_per_month": _decimal(raw.get("hours_per_month")),
            "regions": raw.get("regions"), "assumptions": assumptions,
            "no_charge": raw.get("no_charge") or {}, "rds_vcpus": raw.get("rds_vcpus") or {},
            "service_titles": titles, "entries": entries}


def _describe(error: ValidationError, fields: dict[str, Any]) -> list[str]:
    problems = []
    for item in error.errors():
        location = list(item["loc"])
        if location[:1] == ["entries"] and len(location) > 1 and isinstance(location[1], int):
            entry = fields["entries"][location[1]]
            where = f"{entry.get('service')}/{entry.get('key')} ({entry.get('region')})"
            location = [where, *location[2:]]
        problems.append(f"{'.'.join(str(p) for p in location) or 'table'}: {item['msg']}")
    return problems


def load_price_table(path: Path = DEFAULT_PATH) -> PriceTable:
    """The table at `path`; raises PriceTableError naming every broken rule."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PriceTableError(path, [f"cannot be read: {exc}"]) from exc
    try:
        fields = _table_fields(raw)
    except ValueError as exc:
        raise PriceTableError(path, [str(exc)]) from exc
    try:
        return PriceTable.model_validate(fields)
    except ValidationError as exc:
        raise PriceTableError(path, _describe(exc, fields)) from exc


@lru_cache(maxsize=1)
def default_price_table() -> PriceTable:
    """The table shipped with the portal, read once per process."""
    return load_price_table(DEFAULT_PATH)
