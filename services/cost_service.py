"""What a template will cost before it is launched: every resource CloudFormation would create,
priced from the shipped price table for the lease's own hours, for an hour and for a month.

The estimate reads the CloudFormation that will really be launched (`template_model`: conditions
decided, parameters substituted), counts what each resource runs (instances of an Auto Scaling
group, nodes of a replication group, a Multi-AZ standby, the public IPv4 addresses AWS bills
since 2024), shows every usage assumption on the line that uses it, and lists what it cannot
price with the reason instead of counting it as zero. Every unit price comes from the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from services.errors import ValidationError
from services.i18n import N_, _, ngettext
from services.pricing import PriceEntry, PriceTable, default_price_table
from services.template_model import ResolvedResource, ResolvedTemplate

# Longer than any lease a course grants: an estimate for more is a typo, not a plan.
MAX_HOURS = 24 * 90

_ROOT_DEVICES = {"/dev/xvda", "/dev/sda1"}
# The volume type of Amazon Linux 2023's root volume, which every template here boots from.
_DEFAULT_VOLUME_TYPE = "gp3"
_DEFAULT_DB_STORAGE = "gp3"
_ENGINE_NAMES = {"mysql": "MySQL", "mariadb": "MariaDB", "postgres": "PostgreSQL",
                 "redis": "Redis", "valkey": "Valkey", "memcached": "Memcached"}
# AWS managed rule groups with a subscription and request fee of their own.
_PAID_MANAGED_RULE_GROUPS = {"AWSManagedRulesBotControlRuleSet", "AWSManagedRulesATPRuleSet",
                             "AWSManagedRulesACFPRuleSet", "AWSManagedRulesAntiDDoSRuleSet"}
_ASG_ASSUMPTION = N_("the group keeps its desired capacity for the whole lease; scaling out or "
                     "in changes the count")


@dataclass(frozen=True)
class CostLine:
    resource: str
    type: str
    description: str
    quantity: Decimal
    unit: str
    unit_price_usd: Decimal
    hourly_usd: Decimal
    cost_usd: Decimal
    monthly_usd: Decimal
    as_of: date | None
    source: str | None
    assumptions: tuple[str, ...] = ()
    no_charge: bool = False
    # Which table entry the unit price is, and whether it was confirmed against a current page.
    price_label: str | None = None
    price_confirmed: bool = True

    @property
    def assumption(self) -> str | None:
        return "; ".join(self.assumptions) if self.assumptions else None

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource, "type": self.type, "description": self.description,
            "quantity": float(self.quantity), "unit": self.unit,
            "unit_price_usd": float(self.unit_price_usd), "hourly_usd": float(self.hourly_usd),
            "cost_usd": float(self.cost_usd), "monthly_usd": float(self.monthly_usd),
            "as_of": self.as_of.isoformat() if self.as_of else None, "source": self.source,
            "assumption": self.assumption, "no_charge": self.no_charge,
        }


@dataclass(frozen=True)
class NotPriced:
    resource: str
    type: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"resource": self.resource, "type": self.type, "reason": self.reason}


@dataclass(frozen=True)
class CostEstimate:
    region: str
    hours: Decimal
    hours_per_month: Decimal
    lines: list[CostLine]
    not_priced: list[NotPriced]
    assumptions: list[str]
    template: str | None = None

    @property
    def priced_lines(self) -> list[CostLine]:
        return [line for line in self.lines if not line.no_charge]

    @property
    def no_charge_lines(self) -> list[CostLine]:
        return [line for line in self.lines if line.no_charge]

    @property
    def total_hourly_usd(self) -> Decimal:
        return sum((line.hourly_usd for line in self.lines), Decimal(0))

    @property
    def total_usd(self) -> Decimal:
        """For the lease's hours."""
        return sum((line.cost_usd for line in self.lines), Decimal(0))

    @property
    def total_monthly_usd(self) -> Decimal:
        return sum((line.monthly_usd for line in self.lines), Decimal(0))

    @property
    def price_dates(self) -> list[date]:
        return sorted({line.as_of for line in self.priced_lines if line.as_of})

    @property
    def price_sources(self) -> list[str]:
        return sorted({line.source for line in self.priced_lines if line.source})

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.template:
            data["template"] = self.template
        data.update({
            "region": self.region,
            "hours": float(self.hours),
            "lines": [line.to_json() for line in self.lines],
            "total_usd": float(self.total_usd),
            "total_hourly_usd": float(self.total_hourly_usd),
            "total_monthly_usd": float(self.total_monthly_usd),
            "not_priced": [item.to_json() for item in self.not_priced],
            "assumptions": list(self.assumptions),
        })
        return data


# -- reading resolved properties ------------------------------------------------------------------
def _text(value: Any) -> str | None:
    """A property's value when it is known before launch; None for an unresolved intrinsic."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _ref_target(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` points at."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            if isinstance(arg, list) and arg and isinstance(arg[0], str):
                return arg[0]
            if isinstance(arg, str):
                return arg.split(".", 1)[0]
    return None


def _n(quantity: Decimal) -> str:
    """A quantity as a person writes it: 2, 0.5, 10000."""
    return format(quantity.normalize(), "f")


def _one(count: Decimal) -> int:
    """The count `ngettext` chooses the form by: the singular for exactly one (1.5 is plural)."""
    return 1 if count == 1 else 2


def _neighbours(keys: list[str], key: str) -> list[str]:
    """What the table does price next to a missing `key`: the instance classes of the same engine
    for 'mysql/db.r6g.large/single-az', the engines when the engine itself is missing."""
    parts = key.split("/")
    if len(parts) == 1:
        return sorted(keys)
    same = [k.split("/") for k in keys if k.split("/")[0] == parts[0]]
    if not same:
        return sorted({k.split("/")[0] for k in keys})
    return sorted({p[1] for p in same if len(p) > 1})


class _Unpriced(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Estimator:
    resolved: ResolvedTemplate
    table: PriceTable
    hours: Decimal
    on: date
    lines: list[CostLine] = field(default_factory=list)
    not_priced: list[NotPriced] = field(default_factory=list)
    _pending: list[CostLine] = field(default_factory=list)
    _eip_owner: dict[str, str] = field(default_factory=dict)
    _instances_with_eip: dict[str, int] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.resolved.region

    @property
    def resources(self) -> dict[str, ResolvedResource]:
        return self.resolved.resources

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> None:
        self._link_elastic_ips()
        for resource in self.resources.values():
            self._pending = []
            pricer = _PRICERS.get(resource.type)
            try:
                if pricer is not None:
                    pricer(self, resource)
                elif resource.type in self.table.no_charge:
                    self._free(resource)
                else:
                    raise _Unpriced(_("{type} is not in the price table").format(
                        type=resource.type))
            except _Unpriced as exc:
                # Half a resource would look cheaper than it is: all of it goes to not priced.
                self.not_priced.append(NotPriced(resource.logical_id, resource.type, exc.reason))
                continue
            self.lines += self._pending

    def _link_elastic_ips(self) -> None:
        """Which instance or NAT gateway each Elastic IP of the template serves."""
        for resource in self.resources.values():
            props = resource.properties
            if resource.type == "AWS::EC2::NatGateway":
                eip = _ref_target(props.get("AllocationId"))
                if eip in self.resources:
                    self._eip_owner[eip] = _("NAT gateway {resource}").format(
                        resource=resource.logical_id)
            elif resource.type == "AWS::EC2::EIP":
                instance = _ref_target(props.get("InstanceId"))
                if instance in self.resources:
                    self._eip_owner[resource.logical_id] = _("instance {resource}").format(
                        resource=instance)
                    self._eip_for(instance)
            elif resource.type == "AWS::EC2::EIPAssociation":
                eip = _ref_target(props.get("AllocationId")) or _ref_target(props.get("EIP"))
                instance = _ref_target(props.get("InstanceId"))
                if eip in self.resources and instance in self.resources:
                    self._eip_owner[eip] = _("instance {resource}").format(resource=instance)
                    self._eip_for(instance)

    def _eip_for(self, instance: str) -> None:
        self._instances_with_eip[instance] = self._instances_with_eip.get(instance, 0) + 1

    # -- lines ---------------------------------------------------------------------------------
    def _entry(self, service: str, key: str, *, what: str) -> PriceEntry:
        entry = self.table.price(self.region, service, key)
        if entry is None:
            known = ", ".join(_neighbours(self.table.keys(self.region, service), key))
            raise _Unpriced(_("{what} has no price in the table for {region} (priced there: "
                              "{known})").format(what=what, region=self.region, known=known))
        return entry

    def _add(self, resource: ResolvedResource, description: str, entry: PriceEntry,
             quantity: Decimal, *, assumptions: tuple[str | None, ...] = ()) -> None:
        hourly = quantity * entry.usd
        if entry.billed == "per-month":
            hourly = hourly / self.table.hours_per_month
        self._pending.append(CostLine(
            resource=resource.logical_id, type=resource.type, description=description,
            quantity=quantity, unit=_(entry.unit), unit_price_usd=entry.usd, hourly_usd=hourly,
            cost_usd=hourly * self.hours, monthly_usd=hourly * self.table.hours_per_month,
            as_of=entry.as_of, source=entry.source,
            assumptions=tuple(a for a in assumptions if a),
            price_label=f"{_(self.table.service_titles[entry.service])}: {entry.key}",
            price_confirmed=entry.confirmed))

    def _free(self, resource: ResolvedResource, note: str | None = None) -> None:
        spec = self.table.no_charge.get(resource.type)
        zero = Decimal(0)
        self._pending.append(CostLine(
            resource=resource.logical_id, type=resource.type,
            description=_("no charge: {note}").format(
                note=note or (_(spec.note) if spec else _("free"))),
            quantity=Decimal(1), unit=_("no charge"), unit_price_usd=zero, hourly_usd=zero,
            cost_usd=zero, monthly_usd=zero, as_of=None,
            source=spec.source if spec else None, no_charge=True))

    def _usage(self, name: str) -> tuple[Decimal, str]:
        assumption = self.table.assumption(name)
        return assumption.value, _(assumption.text)

    # -- compute -------------------------------------------------------------------------------
    def _instances(self, resource: ResolvedResource, *, count: Decimal, instance_type: Any,
                   why: str | None = None, source: str | None = None,
                   assumption: str | None = None) -> None:
        """`why` the count is what it is and `source` what says the type (an Auto Scaling
        group's); neither for a single instance."""
        itype = _text(instance_type)
        if itype is None:
            raise _Unpriced(_("its instance type is not known before launch"))
        entry = self._entry("ec2_instance", itype,
                            what=_("instance type {instance_type}").format(instance_type=itype))
        if why is None:
            description = f"{_n(count)} × {itype}"
        else:
            description = _("{count} × {instance_type} ({why}) of {source}").format(
                count=_n(count), instance_type=itype, why=why, source=source)
        if entry.burstable_baseline_pct:
            description = _("{description} - burstable: {percent}% CPU baseline").format(
                description=description, percent=entry.burstable_baseline_pct)
        self._add(resource, description, entry, count, assumptions=(assumption,))

    def _volumes(self, resource: ResolvedResource, *, count: Decimal, mappings: Any) -> None:
        ebs = [m for m in mappings if isinstance(m, dict) and isinstance(m.get("Ebs"), dict)] \
            if isinstance(mappings, list) else []
        if not any(_text(m.get("DeviceName")) in _ROOT_DEVICES for m in ebs):
            self._volume(resource, count=count, spec={}, device="root")
        for mapping in ebs:
            device = _text(mapping.get("DeviceName")) or "volume"
            self._volume(resource, count=count, spec=mapping["Ebs"],
                         device="root" if device in _ROOT_DEVICES else device)

    def _volume(self, resource: ResolvedResource, *, count: Decimal, spec: dict[str, Any],
                device: str) -> None:
        notes = []
        size = _number(spec.get("VolumeSize"))
        if size is None:
            if device != "root":
                raise _Unpriced(_("EBS volume {device} has no VolumeSize: its snapshot "
                                  "decides").format(device=device))
            size, text = self._usage("root_volume_gib")
            notes.append(text)
        volume_type = _text(spec.get("VolumeType"))
        if volume_type is None:
            volume_type = _DEFAULT_VOLUME_TYPE
            notes.append(_("no volume type in the template: {volume_type}, as on Amazon Linux "
                           "2023 AMIs").format(volume_type=_DEFAULT_VOLUME_TYPE))
        entry = self._entry("ebs_volume", volume_type,
                            what=_("EBS volume type {volume_type}").format(
                                volume_type=volume_type))
        if device == "root":
            text = (_("{size} GiB {volume_type} root volume") if count == 1
                    else _("{count} × {size} GiB {volume_type} root volume"))
        else:
            text = (_("{size} GiB {volume_type} volume {device}") if count == 1
                    else _("{count} × {size} GiB {volume_type} volume {device}"))
        description = text.format(count=_n(count), size=_n(size), volume_type=volume_type,
                                  device=device)
        self._add(resource, description, entry, count * size, assumptions=tuple(notes))

    def _public_ipv4(self, resource: ResolvedResource, count: Decimal, description: str,
                     *, assumptions: tuple[str | None, ...] = ()) -> None:
        if count <= 0:
            return
        entry = self._entry("public_ipv4", "address_hour", what=_("a public IPv4 address"))
        self._add(resource, description, entry, count, assumptions=assumptions)

    def _subnet_maps_public_ip(self, subnet: Any) -> bool | None:
        target = self.resources.get(_ref_target(subnet) or "")
        if target is None or target.type != "AWS::EC2::Subnet":
            return None
        return bool(_flag(target.properties.get("MapPublicIpOnLaunch")))

    def _public_ips_per_instance(self, *, interfaces: Any, subnets: list[Any],
                                 associate: Any = None) -> tuple[int, str | None]:
        """Public IPv4 addresses one instance gets, and the assumption behind the count."""
        if isinstance(interfaces, list) and interfaces:
            count = 0
            for nic in interfaces:
                if not isinstance(nic, dict):
                    continue
                wanted = _flag(nic.get("AssociatePublicIpAddress"))
                primary = str(nic.get("DeviceIndex", "0")) == "0"
                if wanted is None and primary:
                    nic_subnets = [nic["SubnetId"]] if "SubnetId" in nic else subnets
                    wanted = bool(nic_subnets) and all(
                        self._subnet_maps_public_ip(s) for s in nic_subnets)
                count += 1 if wanted else 0
            return count, None
        wanted = _flag(associate)
        if wanted is not None:
            return (1 if wanted else 0), None
        if not subnets:
            return 1, _("no subnet in the template: the default VPC, whose subnets give public "
                        "IPv4")
        maps = [self._subnet_maps_public_ip(s) for s in subnets]
        if all(m is None for m in maps):
            return 0, _("its subnets are outside this template: no public IPv4 counted")
        return (1 if all(maps) else 0), None

    def _launch_template(self, spec: Any) -> tuple[dict[str, Any], str]:
        if not isinstance(spec, dict):
            raise _Unpriced(_("its launch template is not known before launch"))
        target = _ref_target(spec.get("LaunchTemplateId"))
        name = _text(spec.get("LaunchTemplateName"))
        found = self.resources.get(target) if target else None
        if found is None and name:
            found = next((r for r in self.resources.values()
                          if r.type == "AWS::EC2::LaunchTemplate"
                          and r.properties.get("LaunchTemplateName") == name), None)
        if found is None or found.type != "AWS::EC2::LaunchTemplate":
            raise _Unpriced(_("its launch template is not part of this template, so its "
                              "instance type is unknown"))
        data = found.properties.get("LaunchTemplateData")
        return (data if isinstance(data, dict) else {}), found.logical_id

    # -- resource types ------------------------------------------------------------------------
    def instance(self, resource: ResolvedResource) -> None:
        props = resource.properties
        data: dict[str, Any] = {}
        if props.get("LaunchTemplate") is not None:
            data, _template = self._launch_template(props["LaunchTemplate"])
        one = Decimal(1)
        self._instances(resource, count=one,
                        instance_type=props.get("InstanceType") or data.get("InstanceType"))
        self._volumes(resource, count=one,
                      mappings=props.get("BlockDeviceMappings") or data.get("BlockDeviceMappings"))
        subnets = [props["SubnetId"]] if props.get("SubnetId") is not None else []
        ips, note = self._public_ips_per_instance(
            interfaces=props.get("NetworkInterfaces") or data.get("NetworkInterfaces"),
            subnets=subnets)
        # An Elastic IP replaces the address the instance got at launch; it is billed on its line.
        ips = max(0, ips - self._instances_with_eip.get(resource.logical_id, 0))
        self._public_ipv4(resource, Decimal(ips),
                          ngettext("{count} public IPv4 address of the instance",
                                   "{count} public IPv4 addresses of the instance",
                                   _one(Decimal(ips))).format(count=_n(Decimal(ips))),
                          assumptions=(note,))

    def auto_scaling_group(self, resource: ResolvedResource) -> None:
        props = resource.properties
        desired = _number(props.get("DesiredCapacity"))
        why = _("ASG desired capacity")
        if desired is None:
            desired = _number(props.get("MinSize"))
            why = _("ASG minimum size: no desired capacity set")
        if desired is None:
            raise _Unpriced(_("neither DesiredCapacity nor MinSize is known before launch"))
        mixed = props.get("MixedInstancesPolicy")
        spec = props.get("LaunchTemplate")
        if isinstance(mixed, dict):
            template = mixed.get("LaunchTemplate") or {}
            if template.get("Overrides"):
                raise _Unpriced(_("mixed instance types: which ones run is decided at launch"))
            spec = template.get("LaunchTemplateSpecification")
        if spec is not None:
            data, template_id = self._launch_template(spec)
            itype, mappings = data.get("InstanceType"), data.get("BlockDeviceMappings")
            interfaces, associate = data.get("NetworkInterfaces"), None
            source = _("launch template {resource}").format(resource=template_id)
        else:
            config = self.resources.get(_ref_target(props.get("LaunchConfigurationName")) or "")
            if config is None or config.type != "AWS::AutoScaling::LaunchConfiguration":
                raise _Unpriced(_("its launch template or configuration is not part of this "
                                  "template, so its instance type is unknown"))
            cp = config.properties
            itype, mappings = cp.get("InstanceType"), cp.get("BlockDeviceMappings")
            interfaces, associate = None, cp.get("AssociatePublicIpAddress")
            source = _("launch configuration {resource}").format(resource=config.logical_id)
        self._instances(resource, count=desired, instance_type=itype, why=why, source=source,
                        assumption=_(_ASG_ASSUMPTION))
        self._volumes(resource, count=desired, mappings=mappings)
        subnets = props.get("VPCZoneIdentifier")
        ips, note = self._public_ips_per_instance(
            interfaces=interfaces, subnets=subnets if isinstance(subnets, list) else [],
            associate=associate)
        addresses = desired * ips
        self._public_ipv4(resource, addresses,
                          ngettext("{count} public IPv4 address of the group's instances",
                                   "{count} public IPv4 addresses of the group's instances",
                                   _one(addresses)).format(count=_n(addresses)),
                          assumptions=(note, _(_ASG_ASSUMPTION)))

    def load_balancer(self, resource: ResolvedResource) -> None:
        props = resource.properties
        kind = (_text(props.get("Type")) or "application").lower()
        if kind != "application":
            raise _Unpriced(_("{kind} load balancers are not in the price table").format(
                kind=kind))
        lcu, lcu_text = self._usage("alb_lcu_per_hour")
        self._add(resource, "Application Load Balancer",
                  self._entry("alb", "hour", what=_("an Application Load Balancer")), Decimal(1),
                  assumptions=(lcu_text,))
        self._add(resource, _("{lcu} LCU on average").format(lcu=_n(lcu)),
                  self._entry("alb", "lcu_hour", what=_("LCU-hours")), lcu,
                  assumptions=(lcu_text,))
        if (_text(props.get("Scheme")) or "internet-facing") != "internet-facing":
            return
        subnets = props.get("Subnets") or props.get("SubnetMappings")
        zone_note = _("one address per availability zone; AWS adds more while the load balancer "
                      "scales")
        if isinstance(subnets, list) and subnets:
            zones = Decimal(len(subnets))
        else:
            zones = Decimal(2)
            zone_note = _("its subnets are not known before launch: two zones, the fewest an "
                          "ALB takes")
        self._public_ipv4(
            resource, zones,
            ngettext("{count} public IPv4 address (internet-facing, one per subnet)",
                     "{count} public IPv4 addresses (internet-facing, one per subnet)",
                     _one(zones)).format(count=_n(zones)),
            assumptions=(zone_note, lcu_text))

    def nat_gateway(self, resource: ResolvedResource) -> None:
        props = resource.properties
        description = _("NAT gateway")
        if (_text(props.get("ConnectivityType")) or "public") == "public":
            eip = _ref_target(props.get("AllocationId"))
            if eip in self.resources:
                description = _("NAT gateway (public; its address is counted on Elastic IP "
                                "{resource})").format(resource=eip)
            else:
                description = _("NAT gateway (public; its Elastic IP is outside this template, "
                                "not counted)")
        self._add(resource, description,
                  self._entry("nat_gateway", "hour", what=_("a NAT gateway")), Decimal(1))
        gb, text = self._usage("nat_gb_per_hour")
        self._add(resource, _("{gb} GB processed an hour").format(gb=_n(gb)),
                  self._entry("nat_gateway", "gb_processed", what=_("NAT data processing")), gb,
                  assumptions=(text,))

    def elastic_ip(self, resource: ResolvedResource) -> None:
        owner = self._eip_owner.get(resource.logical_id)
        description = (_("Elastic IP address (public IPv4) of {owner}").format(owner=owner)
                       if owner else
                       _("Elastic IP address (public IPv4), not attached to anything in this "
                         "template"))
        self._public_ipv4(resource, Decimal(1), description)

    def db_instance(self, resource: ResolvedResource) -> None:
        props = resource.properties
        engine = (_text(props.get("Engine")) or "").lower()
        if props.get("DBClusterIdentifier") is not None or engine.startswith("aurora"):
            raise _Unpriced(_("Aurora instances are not in the price table"))
        db_class = _text(props.get("DBInstanceClass"))
        if not engine or db_class is None:
            raise _Unpriced(_("its engine or instance class is not known before launch"))
        multi_az = bool(_flag(props.get("MultiAZ")))
        deployment = "multi-az" if multi_az else "single-az"
        engine_name = _ENGINE_NAMES.get(engine, engine)
        layout = (_("{instance_class} {engine}, Multi-AZ (a primary and a standby)") if multi_az
                  else _("{instance_class} {engine}, Single-AZ"))
        instance = self._entry("rds_instance", f"{engine}/{db_class}/{deployment}",
                               what=f"{db_class} {engine_name}")
        self._add(resource, layout.format(instance_class=db_class, engine=engine_name), instance,
                  Decimal(1))

        size = _number(props.get("AllocatedStorage"))
        if size is None:
            raise _Unpriced(_("its AllocatedStorage is not known before launch"))
        storage_type = _text(props.get("StorageType"))
        storage_note = None
        if storage_type is None:
            storage_type = _DEFAULT_DB_STORAGE
            storage_note = _("no StorageType in the template: {storage_type}, RDS's "
                             "default").format(storage_type=storage_type)
        storage = self._entry("rds_storage", f"{storage_type}/{deployment}",
                              what=_("RDS {storage_type} storage").format(
                                  storage_type=storage_type))
        stored = (_("{size} GiB {storage_type} storage (kept in both zones)") if multi_az
                  else _("{size} GiB {storage_type} storage"))
        self._add(resource, stored.format(size=_n(size), storage_type=storage_type), storage,
                  size, assumptions=(storage_note,))

        self._extended_support(resource, engine, multi_az=multi_az, db_class=db_class)
        if _flag(props.get("ManageMasterUserPassword")):
            self._add(resource, _("master password secret that RDS keeps in Secrets Manager"),
                      self._entry("secrets_manager", "secret_month", what=_("a secret")),
                      Decimal(1))
        if _flag(props.get("PubliclyAccessible")):
            self._public_ipv4(resource, Decimal(1),
                              _("1 public IPv4 address (PubliclyAccessible)"))

    def _extended_support(self, resource: ResolvedResource, engine: str, *, multi_az: bool,
                          db_class: str) -> None:
        version = _text(resource.properties.get("EngineVersion"))
        if version is None:
            return
        lifecycle = _text(resource.properties.get("EngineLifecycleSupport")) or ""
        if lifecycle.endswith("extended-support-disabled"):
            return
        major = ".".join(version.split(".")[:2])
        entry = self.table.price(self.region, "rds_extended_support", f"{engine}/{major}")
        if entry is None or (entry.starts and self.on < entry.starts):
            return
        vcpus = self.table.rds_vcpus.get(db_class)
        if vcpus is None:
            raise _Unpriced(_("{instance_class} has no vCPU count in the table, so its Extended "
                              "Support charge cannot be computed").format(
                                  instance_class=db_class))
        count = Decimal(vcpus * (2 if multi_az else 1))
        vcpu_count = ngettext("{count} vCPU", "{count} vCPUs", _one(count)).format(
            count=_n(count))
        described = (_("Extended Support for {engine} {version} (past standard support since "
                       "{day}): {vcpus}") if entry.starts else
                     _("Extended Support for {engine} {version} (past standard support): "
                       "{vcpus}"))
        self._add(resource,
                  described.format(engine=_ENGINE_NAMES.get(engine, engine), version=major,
                                   day=entry.starts.isoformat() if entry.starts else "",
                                   vcpus=vcpu_count), entry, count,
                  assumptions=(_("{engine} {version} is past RDS's end of standard support: a "
                                 "supported major version ends this charge").format(
                                     engine=_ENGINE_NAMES.get(engine, engine), version=major),))

    def _cache_nodes(self, resource: ResolvedResource, *, engine: str, node_type: Any,
                     count: Decimal, why: str | None, assumption: str | None = None) -> None:
        """`why`: what in the template gives the count, said in parentheses."""
        ntype = _text(node_type)
        if ntype is None:
            raise _Unpriced(_("its node type is not known before launch"))
        engine_name = _ENGINE_NAMES.get(engine, engine)
        entry = self._entry("elasticache_node", f"{engine}/{ntype}", what=f"{ntype} {engine_name}")
        text = (ngettext("{count} × {node_type} {engine} node ({why})",
                         "{count} × {node_type} {engine} nodes ({why})", _one(count)) if why
                else ngettext("{count} × {node_type} {engine} node",
                              "{count} × {node_type} {engine} nodes", _one(count)))
        self._add(resource, text.format(count=_n(count), node_type=ntype, engine=engine_name,
                                        why=why), entry, count, assumptions=(assumption,))

    def replication_group(self, resource: ResolvedResource) -> None:
        props = resource.properties
        engine = (_text(props.get("Engine")) or "redis").lower()
        clusters = _number(props.get("NumCacheClusters"))
        note = None
        if clusters is not None:
            count, why = clusters, "NumCacheClusters"
        elif _number(props.get("NumNodeGroups")) is not None:
            groups = _number(props.get("NumNodeGroups")) or Decimal(1)
            replicas = _number(props.get("ReplicasPerNodeGroup")) or Decimal(0)
            count, why = groups * (replicas + 1), _("node groups × (1 + replicas)")
        elif isinstance(props.get("NodeGroupConfiguration"), list):
            groups_spec = props["NodeGroupConfiguration"]
            count = sum((1 + (_number(g.get("ReplicaCount")) or Decimal(0))
                         for g in groups_spec if isinstance(g, dict)), Decimal(0))
            why = _("node group configuration")
        else:
            count, why = Decimal(1), None
            note = _("no node count in the template: one primary node")
        self._cache_nodes(resource, engine=engine, node_type=props.get("CacheNodeType"),
                          count=count, why=why, assumption=note)

    def cache_cluster(self, resource: ResolvedResource) -> None:
        props = resource.properties
        count = _number(props.get("NumCacheNodes"))
        if count is None:
            raise _Unpriced(_("its NumCacheNodes is not known before launch"))
        self._cache_nodes(resource, engine=(_text(props.get("Engine")) or "redis").lower(),
                          node_type=props.get("CacheNodeType"), count=count,
                          why="NumCacheNodes")

    def web_acl(self, resource: ResolvedResource) -> None:
        rules = resource.properties.get("Rules")
        rules = rules if isinstance(rules, list) else []
        self._add(resource, _("web ACL"),
                  self._entry("waf", "web_acl_month", what=_("a web ACL")), Decimal(1))
        if rules:
            managed = sum(1 for r in rules if isinstance(r, dict)
                          and "ManagedRuleGroupStatement" in (r.get("Statement") or {}))
            count = Decimal(len(rules))
            text = (ngettext("{count} rule, {managed} of them managed rule groups - a rule group "
                             "counts as one rule",
                             "{count} rules, {managed} of them managed rule groups - a rule group "
                             "counts as one rule", _one(count)) if managed
                    else ngettext("{count} rule - a rule group counts as one rule",
                                  "{count} rules - a rule group counts as one rule", _one(count)))
            self._add(resource, text.format(count=_n(count), managed=managed),
                      self._entry("waf", "rule_month", what=_("a rule")), count)
        requests, text = self._usage("waf_million_requests_per_hour")
        self._add(resource, _("{requests} million requests an hour").format(requests=_n(requests)),
                  self._entry("waf", "million_requests", what=_("WAF requests")), requests,
                  assumptions=(text,))
        for rule in rules:
            statement = (rule.get("Statement") or {}) if isinstance(rule, dict) else {}
            group = statement.get("ManagedRuleGroupStatement")
            if not isinstance(group, dict):
                continue
            vendor, name = _text(group.get("VendorName")), _text(group.get("Name"))
            if vendor != "AWS" or name in _PAID_MANAGED_RULE_GROUPS:
                # The web ACL's own lines stand; only this group's extra fee is missing.
                self.not_priced.append(NotPriced(
                    resource.logical_id, resource.type,
                    _("managed rule group {vendor}/{name} has a subscription and request fee of "
                      "its own that is not in the price table").format(vendor=vendor, name=name)))

    def bucket(self, resource: ResolvedResource) -> None:
        gb, text = self._usage("s3_storage_gb")
        self._add(resource, _("{gb} GB in S3 Standard").format(gb=_n(gb)),
                  self._entry("s3", "standard_gb_month", what=_("S3 Standard storage")), gb,
                  assumptions=(text,))

    def secret(self, resource: ResolvedResource) -> None:
        self._add(resource, _("1 secret"),
                  self._entry("secrets_manager", "secret_month", what=_("a secret")),
                  Decimal(1))

    def alarm(self, resource: ResolvedResource) -> None:
        props = resource.properties
        queries = props.get("Metrics")
        periods = [props.get("Period")]
        if isinstance(queries, list) and queries:
            if any("ANOMALY_DETECTION_BAND" in str(q.get("Expression", ""))
                   for q in queries if isinstance(q, dict)):
                raise _Unpriced(_("anomaly detection alarms are not in the price table"))
            stats = [q["MetricStat"] for q in queries
                     if isinstance(q, dict) and isinstance(q.get("MetricStat"), dict)]
            metrics = Decimal(max(1, len(stats)))
            periods = [s.get("Period") for s in stats]
        else:
            metrics = Decimal(1)
        seconds = [p for p in (_number(v) for v in periods) if p is not None]
        high = bool(seconds) and min(seconds) < 60
        key = "high_resolution" if high else "standard"
        text = (ngettext("high-resolution alarm on {count} metric",
                         "high-resolution alarm on {count} metrics", _one(metrics)) if high
                else ngettext("standard alarm on {count} metric",
                              "standard alarm on {count} metrics", _one(metrics)))
        self._add(resource, text.format(count=_n(metrics)),
                  self._entry("cloudwatch_alarm", key,
                              what=_("a high-resolution alarm") if high
                              else _("a standard alarm")), metrics)

    def scaling_policy(self, resource: ResolvedResource) -> None:
        props = resource.properties
        if _text(props.get("PolicyType")) != "TargetTrackingScaling":
            self._free(resource)
            return
        config = props.get("TargetTrackingConfiguration")
        scale_in = not (isinstance(config, dict) and _flag(config.get("DisableScaleIn")))
        alarms = Decimal(2 if scale_in else 1)
        which = (_("a high and a low alarm that target tracking creates and keeps") if scale_in
                 else _("a high alarm (scale-in disabled) that target tracking creates and keeps"))
        self._add(resource, which,
                  self._entry("cloudwatch_alarm", "standard", what=_("a standard alarm")), alarms,
                  assumptions=(_("the alarms target tracking creates are billed like any other "
                                 "standard alarm"),))

    def log_group(self, resource: ResolvedResource) -> None:
        log_class = (_text(resource.properties.get("LogGroupClass")) or "STANDARD").upper()
        if log_class != "STANDARD":
            raise _Unpriced(_("the {log_class} log class is not in the price table").format(
                log_class=log_class))
        gb, text = self._usage("logs_gb_per_hour")
        self._add(resource, _("{gb} GB ingested an hour").format(gb=_n(gb)),
                  self._entry("cloudwatch_logs", "ingestion_gb", what=_("log ingestion")), gb,
                  assumptions=(text,))

    def vpc_endpoint(self, resource: ResolvedResource) -> None:
        kind = _text(resource.properties.get("VpcEndpointType")) or "Gateway"
        if kind != "Gateway":
            raise _Unpriced(_("{kind} endpoints are billed per zone-hour and per GB; they are "
                              "not in the price table").format(kind=kind))
        self._free(resource)

    def ssm_parameter(self, resource: ResolvedResource) -> None:
        tier = _text(resource.properties.get("Tier")) or "Standard"
        if tier == "Advanced":
            raise _Unpriced(_("advanced-tier parameters are not in the price table"))
        self._free(resource)


_PRICERS: dict[str, Callable[[_Estimator, ResolvedResource], None]] = {
    "AWS::EC2::Instance": _Estimator.instance,
    "AWS::AutoScaling::AutoScalingGroup": _Estimator.auto_scaling_group,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _Estimator.load_balancer,
    "AWS::EC2::NatGateway": _Estimator.nat_gateway,
    "AWS::EC2::EIP": _Estimator.elastic_ip,
    "AWS::RDS::DBInstance": _Estimator.db_instance,
    "AWS::ElastiCache::ReplicationGroup": _Estimator.replication_group,
    "AWS::ElastiCache::CacheCluster": _Estimator.cache_cluster,
    "AWS::WAFv2::WebACL": _Estimator.web_acl,
    "AWS::S3::Bucket": _Estimator.bucket,
    "AWS::SecretsManager::Secret": _Estimator.secret,
    "AWS::CloudWatch::Alarm": _Estimator.alarm,
    "AWS::Logs::LogGroup": _Estimator.log_group,
    "AWS::AutoScaling::ScalingPolicy": _Estimator.scaling_policy,
    "AWS::EC2::VPCEndpoint": _Estimator.vpc_endpoint,
    "AWS::SSM::Parameter": _Estimator.ssm_parameter,
}


def _hours(value: float) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) \
            or not math.isfinite(float(value)):
        raise ValidationError({"hours": _("must be a number of hours")})
    hours = Decimal(str(value))
    if hours <= 0:
        raise ValidationError({"hours": _("must be more than 0")})
    if hours > MAX_HOURS:
        raise ValidationError({"hours": _("must be at most {hours} ({days} days)").format(
            hours=MAX_HOURS, days=MAX_HOURS // 24)})
    return hours


def _general_assumptions(estimator: _Estimator, table: PriceTable) -> list[str]:
    month = _n(table.hours_per_month)
    notes = [
        _("On-demand list prices in USD for {region_name} ({region}), without tax, free tier, "
          "discounts or data transfer out.").format(
              region_name=_(table.regions[estimator.region]), region=estimator.region),
        _("Monthly prices (web ACLs, rules, secrets, alarms, storage) become hourly as price / "
          "{hours} hours; \"per month\" means {hours} hours.").format(hours=month),
        _("Resources run for the whole lease from the start; usage-based lines use the "
          "assumption shown on them."),
    ]
    unconfirmed = sorted({line.price_label for line in estimator.lines
                          if not line.price_confirmed and line.price_label})
    if unconfirmed:
        notes.append(_("Last known list prices, not confirmed against AWS's current pages: "
                       "{prices}.").format(prices=", ".join(unconfirmed)))
    if estimator.not_priced:
        names = ", ".join(sorted({item.resource for item in estimator.not_priced}))
        notes.append(_("The totals exclude what is not priced: {resources}.").format(
            resources=names))
    for line in estimator.lines:
        notes += [text for text in line.assumptions if text not in notes]
    return notes


def estimate(resolved: ResolvedTemplate, *, hours: float, table: PriceTable | None = None,
             template_id: str | None = None, on: date | None = None) -> CostEstimate:
    """The cost of launching `resolved` for `hours` in its region.

    `on` is the day the lease starts (today by default): charges that begin on a date, such
    as RDS Extended Support, count only from then on. Raises ValidationError for a region the
    table has no prices for and for hours outside (0, MAX_HOURS].
    """
    table = table or default_price_table()
    if resolved.region not in table.regions:
        raise ValidationError({"region": _("no prices for {region}; the price table has "
                                           "{regions}").format(
            region=resolved.region, regions=", ".join(sorted(table.regions)))})
    lease = _hours(hours)
    estimator = _Estimator(resolved=resolved, table=table, hours=lease, on=on or date.today())
    estimator.run()
    priced = [line for line in estimator.lines if not line.no_charge]
    free = [line for line in estimator.lines if line.no_charge]
    return CostEstimate(region=resolved.region, hours=lease,
                        hours_per_month=table.hours_per_month, lines=priced + free,
                        not_priced=estimator.not_priced,
                        assumptions=_general_assumptions(estimator, table),
                        template=template_id)
