"""The credit predictor: a burstable instance's CPU credit balance over the coming hours under a
workload, and the moment its CPU is held at the baseline.

The credit rules are `services.burstable`'s (AWS's published ones); this module chooses the
starting state, turns a workload profile into hourly demands, checks what a person typed and says
the result in words.

Conventions of a prediction (its JSON says the same):
- Entry `hour: n` is the n-th hour after the start, from n to n + 1 hours: `demanded_cpu` and
  `effective_cpu` are its means, `balance` and `surplus_balance` are at its end (n + 1 hours after
  the start), `throttled` says the CPU was held at the baseline for some of it.
- `start_balance` is the balance at hour 0. Given, it is the CPUCreditBalance of an instance that
  has been running: earned credits, at most what the type earns in 24 hours. Left out, it is what
  a newly launched instance has: a T2 in standard mode its launch credits (30 per vCPU, spent
  first and never counted against the accrual limit), any other case 0. Launch credits cannot be
  given as a start balance: AWS only grants them at launch.
- `throttled_at_hour` is hours after the start, not rounded: 27.8 means 48 minutes into hour 27.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.burstable import (
    BURSTABLE_SPECS,
    MINUTES_PER_HOUR,
    BurstableSpec,
    CreditHour,
    CreditMode,
    burstable_spec,
    first_throttled,
    project_balance,
    surplus_cost_usd,
)
from services.clouds.aws_calls import as_utc
from services.errors import ValidationError
from services.workload.profiles import AGENT_OVERHEAD_PERCENT, WorkloadProfile

# A week covers every weekly class-hour pattern, and a balance holds at most 24 hours of
# earnings, so a longer projection only repeats what the first week shows.
MAX_HOURS = 168
DEFAULT_HOURS = 24
INSTANCE_TYPES: tuple[str, ...] = tuple(BURSTABLE_SPECS)
_SUGGESTED_TYPES = ("t3.micro", "t3.small", "t3.medium", "t4g.micro", "t2.micro")


@dataclass(frozen=True)
class CreditPrediction:
    spec: BurstableSpec
    mode: CreditMode
    profile: WorkloadProfile
    start: datetime
    """When hour 0 begins (UTC); class-hour profiles depend on it."""
    start_balance: float
    hours: tuple[CreditHour, ...]
    throttled_at_hour: float | None
    surplus_cost_usd: float
    """Surplus credits charged during the projection (beyond 24 hours of earnings)."""
    unpaid_surplus_usd: float
    """What the surplus still owed at the end costs if the instance stops or is terminated then,
    or is switched to standard mode: AWS charges it on any of those."""
    summary: str

    @property
    def instance_type(self) -> str:
        return self.spec.instance_type

    @property
    def end_balance(self) -> float:
        return self.hours[-1].balance

    @property
    def end_surplus(self) -> float:
        return self.hours[-1].surplus_balance

    def to_json(self) -> dict[str, Any]:
        return {
            "instance_type": self.instance_type,
            "mode": self.mode.value,
            "vcpus": self.spec.vcpus,
            "baseline_percent": self.spec.baseline_percent,
            "credits_per_hour": self.spec.credits_per_hour,
            "max_balance": self.spec.max_earned_credits,
            "workload": self.profile.describe(),
            "start": self.start.isoformat(),
            "start_balance": _round(self.start_balance),
            "hours": [{
                "hour": h.hour,
                "starts_at": (self.start + timedelta(hours=h.hour)).isoformat(),
                "demanded_cpu": _round(h.demanded_cpu),
                "effective_cpu": _round(h.effective_cpu),
                "earned": _round(h.earned),
                "spent": _round(h.spent),
                "balance": _round(h.balance),
                "surplus_balance": _round(h.surplus_balance),
                "throttled": h.throttled,
            } for h in self.hours],
            "throttled_at_hour": (None if self.throttled_at_hour is None
                                  else _round(self.throttled_at_hour)),
            "surplus_cost_usd": _round(self.surplus_cost_usd),
            "unpaid_surplus_usd": _round(self.unpaid_surplus_usd),
            "summary": self.summary,
        }


def predict_credits(*, instance_type: str, profile: WorkloadProfile | None = None,
                    cpu_percent: float | None = None, hours: int = DEFAULT_HOURS,
                    start_balance: float | None = None, unlimited: bool | None = None,
                    start: datetime | None = None) -> CreditPrediction:
    """The credit balance of `instance_type` hour by hour under a workload.

    Give the workload as a `profile` or as one steady `cpu_percent` (CloudWatch's
    CPUUtilization: the mean over the vCPUs, 0-100). `unlimited` None means AWS's default for the
    family (standard for T2, unlimited for T3, T3a and T4g). `start` defaults to the current
    hour. Raises `ValidationError` naming each bad field.
    """
    spec, errors = _checked_type(instance_type)
    errors |= _checked_workload(profile, cpu_percent)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
        errors["hours"] = (f"{hours!r} is not a whole number of hours from 1 to {MAX_HOURS}: a "
                           "week covers every weekly class pattern, and a balance holds at most "
                           "24 hours of earnings, so a longer projection only repeats itself")
    if start_balance is not None and spec is not None:
        if math.isnan(start_balance):
            errors["start_balance"] = "not a number of credits"
        elif start_balance < 0:
            errors["start_balance"] = f"{start_balance:g} credits: a balance cannot be negative"
        elif start_balance > spec.max_earned_credits:
            errors["start_balance"] = (
                f"a {spec.instance_type} holds at most {spec.max_earned_credits:g} credits "
                f"(what it earns in 24 hours), not {start_balance:g}")
    if errors:
        raise ValidationError(errors)
    assert spec is not None

    mode = spec.default_mode if unlimited is None else (
        CreditMode.UNLIMITED if unlimited else CreditMode.STANDARD)
    workload = profile if profile is not None else WorkloadProfile.steady(float(cpu_percent))
    begins = _hour_start(start)
    demands = workload.hourly_demands(begins, hours)
    if start_balance is None:
        # A new instance: no earned credits; a T2 in standard mode has its launch credits.
        earned, launch = 0.0, spec.launch_credits if mode is CreditMode.STANDARD else 0.0
    else:
        earned, launch = float(start_balance), 0.0
    projection = project_balance(spec, demands, mode=mode, earned_balance=earned,
                                 launch_credits=launch)
    first_balance = earned + launch
    throttled_at = first_throttled(projection)
    charged = surplus_cost_usd(spec, projection)
    # A credit is a vCPU-minute; surplus is priced per vCPU-hour.
    unpaid = projection[-1].surplus_balance / MINUTES_PER_HOUR * spec.surplus_usd_per_vcpu_hour
    return CreditPrediction(
        spec=spec, mode=mode, profile=workload, start=begins, start_balance=first_balance,
        hours=tuple(projection), throttled_at_hour=throttled_at, surplus_cost_usd=charged,
        unpaid_surplus_usd=unpaid,
        summary=_summary(spec, mode, workload, first_balance, projection, throttled_at,
                         charged, unpaid))


@dataclass(frozen=True)
class CreditScenario:
    """A prediction worth showing, with why its inputs are what they are."""

    title: str
    instance_type: str
    profile: WorkloadProfile
    unlimited: bool
    start_balance: float
    hours: int
    why_start_balance: str
    lesson: str

    def predict(self, *, start: datetime | None = None) -> CreditPrediction:
        return predict_credits(instance_type=self.instance_type, profile=self.profile,
                               hours=self.hours, start_balance=self.start_balance,
                               unlimited=self.unlimited, start=start)


# A small web app on top of the agents: nginx and PHP answering the load balancer's health check
# every few seconds and a few students' requests.
SEED_APP_CPU_PERCENT = 5.0

# The case the predictor exists for: a class's ha-web servers on t3.micro, where the SSM,
# CloudWatch and CodeDeploy agents spent the credits, the CPU fell from 99% to the 10% baseline
# again and again, health checks failed and the Auto Scaling group kept replacing instances.
SEED_EXAMPLE = CreditScenario(
    title="a t3.micro running its three agents",
    instance_type="t3.micro",
    profile=WorkloadProfile.steady(SEED_APP_CPU_PERCENT, agents=AGENT_OVERHEAD_PERCENT),
    # The class's templates launch burstable types in standard mode, as the seed's were.
    unlimited=False,
    start_balance=0.0,
    hours=DEFAULT_HOURS,
    why_start_balance=(
        "A new t3.micro in standard mode starts with 0 credits: T3 instances get no launch "
        "credits. Every replacement the Auto Scaling group launches starts at 0 again."),
    lesson=(
        "The SSM, CloudWatch and CodeDeploy agents alone use about 8% of a t3.micro; with a "
        "small app on top it asks for more than its 10% baseline earns, so it never builds a "
        "balance: held at the baseline, it fails its health checks and the group replaces it "
        "with another instance that starts at 0. A t3.small costs twice as much per hour and "
        "runs the same workload at full speed: the cheapest type is not always the cheapest "
        "choice."),
)


def _checked_type(instance_type: str) -> tuple[BurstableSpec | None, dict[str, str]]:
    spec = burstable_spec(instance_type)
    if spec is not None:
        return spec, {}
    # Close enough to be a typo (t3.mikro); m6i.large is not a misspelt t3.large.
    close = difflib.get_close_matches(instance_type, INSTANCE_TYPES, n=1, cutoff=0.85)
    hint = f"did you mean {close[0]}? " if close else ""
    return None, {"instance_type": (
        f"{instance_type!r} is not a burstable instance type: only t2, t3, t3a and t4g earn CPU "
        f"credits; {hint}for example {', '.join(_SUGGESTED_TYPES)}")}


def _checked_workload(profile: WorkloadProfile | None,
                      cpu_percent: float | None) -> dict[str, str]:
    if profile is not None and cpu_percent is not None:
        return {"cpu_percent": "give a CPU utilization or a workload profile, not both"}
    if profile is None and cpu_percent is None:
        return {"cpu_percent": "give the CPU utilization the workload asks for (0-100%) "
                               "or a workload profile"}
    if cpu_percent is not None and (math.isnan(cpu_percent) or not 0 <= cpu_percent <= 100):
        return {"cpu_percent": (f"{cpu_percent:g}% is not a utilization from 0 to 100 (the mean "
                                "over the instance's vCPUs, as CloudWatch's CPUUtilization)")}
    return {}


def _hour_start(start: datetime | None) -> datetime:
    if start is None:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return as_utc(start)


def _round(value: float) -> float:
    # Hour-by-hour sums leave float dust (86.39999999999999); four places keep every credit and
    # cent a reader could check.
    return round(value, 4) + 0.0


def _hours_text(hours: float) -> str:
    text = f"{hours:.1f}".removesuffix(".0")
    return f"{text} hour" if text == "1" else f"{text} hours"


def _credits(amount: float) -> str:
    return f"{amount:,.1f}".removesuffix(".0")


def _summary(spec: BurstableSpec, mode: CreditMode, profile: WorkloadProfile,
             start_balance: float, projection: list[CreditHour], throttled_at: float | None,
             charged: float, unpaid: float) -> str:
    demands = [h.demanded_cpu for h in projection]
    demand = sum(demands) / len(demands)
    spends = spec.credits_spent_per_hour(demand)
    varies = max(demands) - min(demands) > 1e-9
    start = (f"A {spec.instance_type} in {mode.value} mode earns "
             f"{_credits(spec.credits_per_hour)} credits an hour "
             f"{'but' if spends > spec.credits_per_hour else 'and'} its workload "
             f"({profile.describe()}) asks for {demand:.3g}% CPU"
             f"{' on average' if varies else ''}, which spends {_credits(spends)}")
    window = _hours_text(len(projection))
    end = projection[-1]
    if mode is CreditMode.STANDARD:
        if throttled_at is None:
            return (f"{start}: starting from {_credits(start_balance)} credits, it never runs "
                    f"out in {window} and ends with {_credits(end.balance)} credits.")
        if throttled_at == 0:
            return (f"{start}: starting from {_credits(start_balance)} credits, it is held at "
                    f"its {spec.baseline_percent:g}% baseline from the first minute.")
        return (f"{start}: its {_credits(start_balance)} credits run out after "
                f"{_hours_text(throttled_at)}, and its CPU is then held at its "
                f"{spec.baseline_percent:g}% baseline.")
    if end.surplus_balance == 0 and charged == 0:
        return (f"{start}: it never borrows surplus credits in {window} and ends with "
                f"{_credits(end.balance)} credits, at no extra cost.")
    charges = f"${charged:.2f} of surplus credits are charged and " if charged else ""
    return (f"{start}: it never slows down, but it borrows what it does not earn: "
            f"{charges}after {window} it owes {_credits(end.surplus_balance)} surplus credits "
            f"(${unpaid:.2f} if it stops then, nothing if it earns them back below its "
            f"{spec.baseline_percent:g}% baseline).")
