"""CPU credits of burstable EC2 instances (T2, T3, T3a, T4g), as AWS publishes them.

Figures from the EC2 User Guide, "Key concepts and definitions for burstable performance
instances" (its CPU credit table), "Standard mode concepts" (launch credits) and "Unlimited mode
concepts" (surplus credits). The definitions this module computes with:

- One CPU credit is one vCPU at 100% for one minute.
- CPU utilization is the instance's CloudWatch `CPUUtilization`: the average over its vCPUs, on
  the same scale as the baseline per vCPU (a t3.large at its baseline shows 30%).
- Credits spent per hour = vCPUs x utilization x 60; earned per hour = vCPUs x baseline x 60.
- Earned credits accrue up to what the instance earns in 24 hours; more is discarded.
- T2 in standard mode starts with 30 launch credits per vCPU, spends them before earned credits,
  and they do not count toward the accrual limit. T3, T3a and T4g get no launch credits: in
  standard mode they start at 0.
- Standard mode: with no credits left the CPU is held at the baseline. AWS lowers it gradually;
  this model cuts to the baseline at the moment the balance reaches zero.
- Unlimited mode (the default of T3, T3a and T4g; T2 defaults to standard): past a zero balance
  the instance spends surplus credits, which later earnings pay down. Surplus beyond what the
  instance earns in 24 hours is charged at the end of the hour, at a flat price per vCPU-hour.

A projection (`project_balance`) runs hour by hour; a `CreditAccount` steps one instance forward
any number of minutes (the workload simulator's 5-minute periods). Both apply the same rules to a
stretch of constant utilization, and exactly: the moment the launch credits or the balance run
out, or the accrual limit is reached, is computed, not rounded to the step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

MINUTES_PER_HOUR = 60
LAUNCH_CREDITS_PER_VCPU = 30


class CreditMode(StrEnum):
    STANDARD = "standard"
    UNLIMITED = "unlimited"


@dataclass(frozen=True)
class BurstableSpec:
    instance_type: str
    vcpus: int
    baseline_percent: float
    """Baseline utilization per vCPU, in percent (CloudWatch CPUUtilization at the baseline)."""
    credits_per_hour: float
    max_earned_credits: float
    """The accrual limit: what the instance earns in 24 hours."""
    default_mode: CreditMode
    surplus_usd_per_vcpu_hour: float
    """Price of surplus credits in unlimited mode (Linux, per vCPU-hour)."""

    @property
    def family(self) -> str:
        return self.instance_type.split(".", 1)[0]

    @property
    def launch_credits(self) -> float:
        """Credits a standard-mode instance starts with (T2 only)."""
        return LAUNCH_CREDITS_PER_VCPU * self.vcpus if self.family == "t2" else 0.0

    def credits_spent_per_hour(self, cpu_percent: float) -> float:
        return self.vcpus * _clamp_cpu(cpu_percent) / 100 * MINUTES_PER_HOUR

    def net_credits_per_hour(self, cpu_percent: float) -> float:
        """Earned minus spent at a steady utilization; negative drains the balance."""
        return self.credits_per_hour - self.credits_spent_per_hour(cpu_percent)


# (vCPUs, CPU credits earned per hour, maximum earned credits, baseline % per vCPU), from the
# credit table of the EC2 User Guide. Every row satisfies earned = vCPUs x baseline x 60.
_TABLE: dict[str, tuple[int, float, float, float]] = {
    "t2.nano": (1, 3, 72, 5),
    "t2.micro": (1, 6, 144, 10),
    "t2.small": (1, 12, 288, 20),
    "t2.medium": (2, 24, 576, 20),
    "t2.large": (2, 36, 864, 30),
    "t2.xlarge": (4, 54, 1296, 22.5),
    "t2.2xlarge": (8, 81.6, 1958.4, 17),
    "t3.nano": (2, 6, 144, 5),
    "t3.micro": (2, 12, 288, 10),
    "t3.small": (2, 24, 576, 20),
    "t3.medium": (2, 24, 576, 20),
    "t3.large": (2, 36, 864, 30),
    "t3.xlarge": (4, 96, 2304, 40),
    "t3.2xlarge": (8, 192, 4608, 40),
    "t3a.nano": (2, 6, 144, 5),
    "t3a.micro": (2, 12, 288, 10),
    "t3a.small": (2, 24, 576, 20),
    "t3a.medium": (2, 24, 576, 20),
    "t3a.large": (2, 36, 864, 30),
    "t3a.xlarge": (4, 96, 2304, 40),
    "t3a.2xlarge": (8, 192, 4608, 40),
    "t4g.nano": (2, 6, 144, 5),
    "t4g.micro": (2, 12, 288, 10),
    "t4g.small": (2, 24, 576, 20),
    "t4g.medium": (2, 24, 576, 20),
    "t4g.large": (2, 36, 864, 30),
    "t4g.xlarge": (4, 96, 2304, 40),
    "t4g.2xlarge": (8, 192, 4608, 40),
}
# Surplus credits, Linux on-demand, per vCPU-hour: $0.05 for T2/T3/T3a (the EC2 User Guide's
# unlimited-mode examples use it), $0.04 for the Graviton T4g (EC2 on-demand pricing page).
_SURPLUS_PRICE = {"t2": 0.05, "t3": 0.05, "t3a": 0.05, "t4g": 0.04}


def _spec(instance_type: str, row: tuple[int, float, float, float]) -> BurstableSpec:
    vcpus, per_hour, max_earned, baseline = row
    family = instance_type.split(".", 1)[0]
    return BurstableSpec(
        instance_type=instance_type, vcpus=vcpus, baseline_percent=baseline,
        credits_per_hour=per_hour, max_earned_credits=max_earned,
        default_mode=CreditMode.STANDARD if family == "t2" else CreditMode.UNLIMITED,
        surplus_usd_per_vcpu_hour=_SURPLUS_PRICE[family],
    )


BURSTABLE_SPECS: dict[str, BurstableSpec] = {name: _spec(name, row) for name, row in _TABLE.items()}


def burstable_spec(instance_type: str) -> BurstableSpec | None:
    """The credit facts of `instance_type`, or None for a type that does not burst."""
    return BURSTABLE_SPECS.get(instance_type)


def is_burstable(instance_type: str) -> bool:
    return instance_type in BURSTABLE_SPECS


@dataclass(frozen=True)
class CreditHour:
    """One hour of a projection; balances are at the end of the hour."""

    hour: int
    demanded_cpu: float
    effective_cpu: float
    """Average utilization the instance actually got this hour (lower when throttled)."""
    earned: float
    """Credits earned this hour that were kept (discarded ones at the accrual limit excluded)."""
    spent: float
    earned_balance: float
    launch_balance: float
    surplus_balance: float
    surplus_charged: float
    """Surplus credits charged at the end of this hour (unlimited mode)."""
    throttled: bool
    throttled_from: float | None
    """Hours since the start of the projection at which the CPU was held at the baseline."""

    @property
    def balance(self) -> float:
        """What CloudWatch shows as CPUCreditBalance: earned plus launch credits."""
        return self.earned_balance + self.launch_balance


def _clamp_cpu(cpu_percent: float) -> float:
    if math.isnan(cpu_percent):
        raise ValueError("CPU utilization is not a number")
    return min(max(cpu_percent, 0.0), 100.0)


def project_balance(spec: BurstableSpec, cpu_percent: float | Sequence[float], *,
                    hours: int | None = None, mode: CreditMode | str | None = None,
                    earned_balance: float = 0.0, launch_credits: float | None = None,
                    surplus_balance: float = 0.0) -> list[CreditHour]:
    """The credit balance hour by hour under a demanded CPU utilization.

    `cpu_percent` is one utilization for every hour (then `hours` says how many) or one per hour.
    `mode` defaults to the family's default mode. `launch_credits` defaults to what a new
    instance gets in that mode (30 per vCPU for T2 standard, otherwise none); `earned_balance`
    and `surplus_balance` let a projection continue from a known state.
    """
    credit_mode = CreditMode(mode) if mode is not None else spec.default_mode
    if isinstance(cpu_percent, (int, float)):
        if hours is None or hours < 0:
            raise ValueError("hours: give a number of hours for a constant utilization")
        demands = [float(cpu_percent)] * hours
    else:
        demands = [float(c) for c in cpu_percent]
        if hours is not None and hours != len(demands):
            raise ValueError(f"hours: {hours} given for {len(demands)} hourly utilizations")
    if launch_credits is None:
        launch_credits = spec.launch_credits if credit_mode is CreditMode.STANDARD else 0.0
    state = _State(earned=min(earned_balance, spec.max_earned_credits),
                   launch=launch_credits, surplus=surplus_balance)
    return [_project_hour(spec, credit_mode, state, hour, _clamp_cpu(demand))
            for hour, demand in enumerate(demands)]


def _project_hour(spec: BurstableSpec, mode: CreditMode, state: _State, hour: int,
                  demand: float) -> CreditHour:
    standard = mode is CreditMode.STANDARD
    if standard:
        part = _standard_part(spec, state, demand, 1.0)
    else:
        part = _unlimited_part(spec, state, demand, 1.0, hour_ends=True)
    # Standard mode has no surplus; unlimited mode spends no launch credits.
    return CreditHour(
        hour=hour, demanded_cpu=demand, effective_cpu=part.effective_cpu, earned=part.earned,
        spent=part.spent, earned_balance=state.earned,
        launch_balance=state.launch if standard else 0.0,
        surplus_balance=0.0 if standard else state.surplus, surplus_charged=part.surplus_charged,
        throttled=part.throttled_from is not None,
        throttled_from=None if part.throttled_from is None else hour + part.throttled_from,
    )


@dataclass
class _State:
    earned: float
    launch: float
    surplus: float


@dataclass(frozen=True)
class _Part:
    """What one stretch of constant demand did to a `_State`."""

    effective_cpu: float
    earned: float
    """Credits earned and kept (discarded ones at the accrual limit excluded)."""
    spent: float
    surplus_charged: float
    throttled_from: float | None
    """The fraction of the stretch after which the CPU was held at the baseline."""


# The rules of both modes for a stretch of `hours` (any length, at most up to the end of a clock
# hour) at a constant demand. Every quantity in the stretch changes linearly or stops at a
# limit, so the moment a limit is reached is computed exactly and a stretch split in two ends in
# the same state as the whole one.

def _standard_part(spec: BurstableSpec, state: _State, demand: float, hours: float) -> _Part:
    earn = spec.credits_per_hour * hours
    spend = spec.credits_spent_per_hour(demand) * hours
    cap = spec.max_earned_credits
    start_total = state.earned + state.launch
    elapsed = 0.0
    throttled_at: float | None = None

    # Launch credits are spent first; earned credits keep accruing meanwhile, up to the limit.
    if state.launch > 0 and spend > 0:
        until_launch_gone = state.launch / spend
        if until_launch_gone >= 1:
            state.launch -= spend
            state.earned = min(state.earned + earn, cap)
            elapsed = 1.0
        else:
            state.launch = 0.0
            state.earned = min(state.earned + earn * until_launch_gone, cap)
            elapsed = until_launch_gone
    if elapsed < 1:
        rest = 1.0 - elapsed
        net = earn - spend
        if net >= 0:
            state.earned = min(state.earned + net * rest, cap)
        else:
            until_empty = state.earned / -net
            if until_empty >= rest:
                state.earned += net * rest
            else:
                # Empty: from here on the CPU is held at the baseline, which spends exactly
                # what it earns, so the balance stays at zero.
                state.earned = 0.0
                throttled_at = elapsed + until_empty
    if throttled_at is None:
        effective = demand
    else:
        effective = (demand * throttled_at + spec.baseline_percent * (1 - throttled_at))
    spent = spec.credits_spent_per_hour(effective) * hours
    end_total = state.earned + state.launch
    return _Part(effective_cpu=effective, earned=end_total - start_total + spent, spent=spent,
                 surplus_charged=0.0, throttled_from=throttled_at)


def _unlimited_part(spec: BurstableSpec, state: _State, demand: float, hours: float, *,
                    hour_ends: bool) -> _Part:
    earn = spec.credits_per_hour * hours
    spend = spec.credits_spent_per_hour(demand) * hours
    cap = spec.max_earned_credits
    net = earn - spend
    discarded = 0.0
    if net >= 0:
        # Earnings pay the surplus down first, then accrue up to the limit.
        repaid = min(state.surplus, net)
        state.surplus -= repaid
        accrued = net - repaid
        discarded = max(0.0, state.earned + accrued - cap)
        state.earned = min(state.earned + accrued, cap)
    else:
        drawn = min(state.earned, -net)
        state.earned -= drawn
        state.surplus += -net - drawn
    # Surplus beyond the accrual limit is charged at the end of the (clock) hour, not as it
    # accrues: within the hour, earnings may still pay it down.
    charged = max(0.0, state.surplus - cap) if hour_ends else 0.0
    state.surplus -= charged
    return _Part(effective_cpu=demand, earned=earn - discarded, spent=spend,
                 surplus_charged=charged, throttled_from=None)


@dataclass(frozen=True)
class CreditStep:
    """One step of a `CreditAccount`; balances are at the end of the step, on CloudWatch's terms."""

    minutes: float
    demanded_cpu: float
    effective_cpu: float
    """Average utilization the instance got in the step (CloudWatch CPUUtilization)."""
    balance: float
    """Earned plus launch credits (CloudWatch CPUCreditBalance)."""
    credit_usage: float
    """Credits spent in the step, surplus ones included (CloudWatch CPUCreditUsage)."""
    earned: float
    surplus_balance: float
    """Surplus credits spent and not yet paid down (CloudWatch CPUSurplusCreditBalance)."""
    surplus_charged: float
    """Surplus credits charged in the step (CloudWatch CPUSurplusCreditsCharged)."""
    throttled: bool
    throttled_minutes: float
    """Minutes of the step during which the CPU was held at the baseline."""


@dataclass
class CreditAccount:
    """The credits of one running instance, stepped forward any number of minutes at a time.

    The same rules as `project_balance` (which is this account stepped an hour at a time):
    a step is cut at each end of a clock hour, where unlimited mode charges surplus credits.
    `minutes_into_hour` is where in the clock hour the account stands, so that an account
    started at 10:25 charges at 11:00.
    """

    spec: BurstableSpec
    mode: CreditMode
    earned: float = 0.0
    launch: float = 0.0
    surplus: float = 0.0
    minutes_into_hour: float = 0.0

    def __post_init__(self) -> None:
        self.mode = CreditMode(self.mode)
        self.earned = min(self.earned, self.spec.max_earned_credits)
        if not 0 <= self.minutes_into_hour < MINUTES_PER_HOUR:
            raise ValueError("minutes_into_hour: must be from 0 to under 60")

    @classmethod
    def launched(cls, spec: BurstableSpec, *, mode: CreditMode | str | None = None,
                 minutes_into_hour: float = 0.0) -> CreditAccount:
        """A freshly launched instance: 30 launch credits per vCPU for T2 in standard mode,
        otherwise an empty balance."""
        credit_mode = CreditMode(mode) if mode is not None else spec.default_mode
        launch = spec.launch_credits if credit_mode is CreditMode.STANDARD else 0.0
        return cls(spec, credit_mode, launch=launch, minutes_into_hour=minutes_into_hour)

    @classmethod
    def resumed(cls, spec: BurstableSpec, *, mode: CreditMode | str, balance: float,
                surplus_balance: float = 0.0, minutes_into_hour: float = 0.0) -> CreditAccount:
        """An account continued from what CloudWatch shows. CPUCreditBalance does not say how
        much of it is launch credits; whatever exceeds the accrual limit must be, the rest is
        taken as earned (it only matters for a T2 that has not spent its launch credits yet)."""
        credit_mode = CreditMode(mode)
        standard = credit_mode is CreditMode.STANDARD
        earned = min(balance, spec.max_earned_credits)
        return cls(spec, credit_mode, earned=earned, launch=balance - earned if standard else 0.0,
                   surplus=0.0 if standard else surplus_balance,
                   minutes_into_hour=minutes_into_hour)

    @property
    def balance(self) -> float:
        return self.earned + self.launch

    def step(self, minutes: float, demand_cpu: float) -> CreditStep:
        """Run `minutes` at a demanded utilization of `demand_cpu` percent."""
        if minutes < 0 or math.isnan(minutes):
            raise ValueError("minutes: must not be negative")
        demand = _clamp_cpu(demand_cpu)
        state = _State(earned=self.earned, launch=self.launch, surplus=self.surplus)
        left = float(minutes)
        cpu_minutes = spent = earned = charged = throttled_minutes = 0.0
        throttled = False
        while True:
            to_hour_end = MINUTES_PER_HOUR - self.minutes_into_hour
            piece = min(left, to_hour_end)
            hour_ends = piece >= to_hour_end
            hours = piece / MINUTES_PER_HOUR
            if self.mode is CreditMode.STANDARD:
                part = _standard_part(self.spec, state, demand, hours)
            else:
                part = _unlimited_part(self.spec, state, demand, hours, hour_ends=hour_ends)
            cpu_minutes += part.effective_cpu * piece
            spent += part.spent
            earned += part.earned
            charged += part.surplus_charged
            if part.throttled_from is not None:
                throttled = True
                throttled_minutes += (1 - part.throttled_from) * piece
            left -= piece
            self.minutes_into_hour = 0.0 if hour_ends else self.minutes_into_hour + piece
            if left <= 0:
                break
        self.earned, self.launch, self.surplus = state.earned, state.launch, state.surplus
        return CreditStep(
            minutes=minutes, demanded_cpu=demand,
            effective_cpu=cpu_minutes / minutes if minutes else demand, balance=self.balance,
            credit_usage=spent, earned=earned, surplus_balance=self.surplus,
            surplus_charged=charged, throttled=throttled, throttled_minutes=throttled_minutes,
        )


def first_throttled(projection: Sequence[CreditHour]) -> float | None:
    """Hours after the start at which the CPU was first held at the baseline, or None."""
    return next((h.throttled_from for h in projection if h.throttled_from is not None), None)


def surplus_cost_usd(spec: BurstableSpec, projection: Sequence[CreditHour]) -> float:
    """What the surplus credits charged during `projection` cost (a credit is a vCPU-minute)."""
    charged = sum(h.surplus_charged for h in projection)
    return charged / MINUTES_PER_HOUR * spec.surplus_usd_per_vcpu_hour
