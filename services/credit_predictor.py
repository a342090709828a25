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
from services.i18n import N_, _, ngettext
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

    @property
    def summary(self) -> str:
        """The result in words, in the reader's language: said when read, not when predicted,
        so that a prediction kept for other readers (the UI keeps them) speaks each one's."""
        return _summary(self.spec, self.mode, self.profile, self.start_balance,
                        list(self.hours), self.throttled_at_hour, self.surplus_cost_usd,
                        self.unpaid_surplus_usd)

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
        errors["hours"] = _(
            "{hours} is not a whole number of hours from 1 to {limit}: a week covers every "
            "weekly class pattern, and a balance holds at most 24 hours of earnings, so a longer "
            "projection only repeats itself").format(hours=repr(hours), limit=MAX_HOURS)
    if start_balance is not None and spec is not None:
        if math.isnan(start_balance):
            errors["start_balance"] = _("not a number of credits")
        elif start_balance < 0:
            errors["start_balance"] = _("{credits} credits: a balance cannot be "
                                        "negative").format(credits=f"{start_balance:g}")
        elif start_balance > spec.max_earned_credits:
            errors["start_balance"] = _(
                "a {instance_type} holds at most {limit} credits (what it earns in 24 hours), "
                "not {credits}").format(instance_type=spec.instance_type,
                                        limit=f"{spec.max_earned_credits:g}",
                                        credits=f"{start_balance:g}")
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
        unpaid_surplus_usd=unpaid)


@dataclass(frozen=True)
class CreditScenario:
    """A prediction worth showing, with why its inputs are what they are.

    Its words are kept in English (marked with `N_`) and read through `title`,
    `why_start_balance` and `lesson`, in the reader's language, with `text_fields` filled in.
    """

    title_text: str
    instance_type: str
    profile: WorkloadProfile
    unlimited: bool
    start_balance: float
    hours: int
    why_start_balance_text: str
    lesson_text: str
    # `{name}` fields of the texts, as (name, value) pairs: a figure such as "8%" is a field,
    # because gettext would read "8% of" in a catalog as a printf placeholder.
    text_fields: tuple[tuple[str, str], ...] = ()

    def _say(self, text: str) -> str:
        return _(text).format(**dict(self.text_fields))

    @property
    def title(self) -> str:
        return self._say(self.title_text)

    @property
    def why_start_balance(self) -> str:
        return self._say(self.why_start_balance_text)

    @property
    def lesson(self) -> str:
        return self._say(self.lesson_text)

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
    title_text=N_("a t3.micro running its three agents"),
    instance_type="t3.micro",
    profile=WorkloadProfile.steady(SEED_APP_CPU_PERCENT, agents=AGENT_OVERHEAD_PERCENT),
    # The class's templates launch burstable types in standard mode, as the seed's were.
    unlimited=False,
    start_balance=0.0,
    hours=DEFAULT_HOURS,
    why_start_balance_text=N_(
        "A new t3.micro in standard mode starts with 0 credits: T3 instances get no launch "
        "credits. Every replacement the Auto Scaling group launches starts at 0 again."),
    lesson_text=N_(
        "The SSM, CloudWatch and CodeDeploy agents alone use about {agents} of a t3.micro; with "
        "a small app on top it asks for more than its {baseline} baseline earns, so it never "
        "builds a balance: held at the baseline, it fails its health checks and the group "
        "replaces it with another instance that starts at 0. A t3.small costs twice as much per "
        "hour and runs the same workload at full speed: the cheapest type is not always the "
        "cheapest choice."),
    text_fields=(("agents", "8%"), ("baseline", "10%")),
)


def _checked_type(instance_type: str) -> tuple[BurstableSpec | None, dict[str, str]]:
    spec = burstable_spec(instance_type)
    if spec is not None:
        return spec, {}
    # Close enough to be a typo (t3.mikro); m6i.large is not a misspelt t3.large.
    close = difflib.get_close_matches(instance_type, INSTANCE_TYPES, n=1, cutoff=0.85)
    examples = ", ".join(_SUGGESTED_TYPES)
    if close:
        message = _("{instance_type} is not a burstable instance type: only t2, t3, t3a and t4g "
                    "earn CPU credits; did you mean {close}? for example {examples}")
    else:
        message = _("{instance_type} is not a burstable instance type: only t2, t3, t3a and t4g "
                    "earn CPU credits; for example {examples}")
    return None, {"instance_type": message.format(
        instance_type=repr(instance_type), close=close[0] if close else "", examples=examples)}


def _checked_workload(profile: WorkloadProfile | None,
                      cpu_percent: float | None) -> dict[str, str]:
    if profile is not None and cpu_percent is not None:
        return {"cpu_percent": _("give a CPU utilization or a workload profile, not both")}
    if profile is None and cpu_percent is None:
        return {"cpu_percent": _("give the CPU utilization the workload asks for (0-100%) "
                                 "or a workload profile")}
    if cpu_percent is not None and (math.isnan(cpu_percent) or not 0 <= cpu_percent <= 100):
        # The sign is in the field: "% is" in a catalog would read as a printf placeholder.
        return {"cpu_percent": _("{percent} is not a utilization from 0 to 100 (the mean over "
                                 "the instance's vCPUs, as CloudWatch's CPUUtilization)").format(
                                     percent=f"{cpu_percent:g}%")}
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
    return ngettext("{hours} hour", "{hours} hours", 1 if text == "1" else 2).format(hours=text)


def _credits(amount: float) -> str:
    return f"{amount:,.1f}".removesuffix(".0")


def _summary(spec: BurstableSpec, mode: CreditMode, profile: WorkloadProfile,
             start_balance: float, projection: list[CreditHour], throttled_at: float | None,
             charged: float, unpaid: float) -> str:
    demands = [h.demanded_cpu for h in projection]
    demand = sum(demands) / len(demands)
    spends = spec.credits_spent_per_hour(demand)
    varies = max(demands) - min(demands) > 1e-9
    # One sentence per case (Korean orders its parts otherwise): the workload, then the outcome.
    if spends > spec.credits_per_hour:
        opening = (_("A {instance_type} in {mode} earns {earned} credits an hour but its workload "
                     "({workload}) asks for {demand}% CPU on average, which spends {spent}")
                   if varies else
                   _("A {instance_type} in {mode} earns {earned} credits an hour but its workload "
                     "({workload}) asks for {demand}% CPU, which spends {spent}"))
    else:
        opening = (_("A {instance_type} in {mode} earns {earned} credits an hour and its workload "
                     "({workload}) asks for {demand}% CPU on average, which spends {spent}")
                   if varies else
                   _("A {instance_type} in {mode} earns {earned} credits an hour and its workload "
                     "({workload}) asks for {demand}% CPU, which spends {spent}"))
    start = opening.format(
        instance_type=spec.instance_type,
        mode=_("standard mode") if mode is CreditMode.STANDARD else _("unlimited mode"),
        earned=_credits(spec.credits_per_hour), workload=profile.describe(),
        demand=f"{demand:.3g}", spent=_credits(spends))
    window = _hours_text(len(projection))
    end = projection[-1]
    baseline = f"{spec.baseline_percent:g}"
    if mode is CreditMode.STANDARD:
        if throttled_at is None:
            return _("{start}: starting from {balance} credits, it never runs out in {window} and "
                     "ends with {end} credits.").format(
                start=start, balance=_credits(start_balance), window=window,
                end=_credits(end.balance))
        if throttled_at == 0:
            return _("{start}: starting from {balance} credits, it is held at its {baseline}% "
                     "baseline from the first minute.").format(
                start=start, balance=_credits(start_balance), baseline=baseline)
        return _("{start}: its {balance} credits run out after {after}, and its CPU is then held "
                 "at its {baseline}% baseline.").format(
            start=start, balance=_credits(start_balance), after=_hours_text(throttled_at),
            baseline=baseline)
    if end.surplus_balance == 0 and charged == 0:
        return _("{start}: it never borrows surplus credits in {window} and ends with {end} "
                 "credits, at no extra cost.").format(start=start, window=window,
                                                      end=_credits(end.balance))
    fields = dict(start=start, charged=f"${charged:.2f}", window=window,
                  surplus=_credits(end.surplus_balance), unpaid=f"${unpaid:.2f}",
                  baseline=baseline)
    if charged:
        return _("{start}: it never slows down, but it borrows what it does not earn: {charged} "
                 "of surplus credits are charged and after {window} it owes {surplus} surplus "
                 "credits ({unpaid} if it stops then, nothing if it earns them back below its "
                 "{baseline}% baseline).").format(**fields)
    return _("{start}: it never slows down, but it borrows what it does not earn: after {window} "
             "it owes {surplus} surplus credits ({unpaid} if it stops then, nothing if it earns "
             "them back below its {baseline}% baseline).").format(**fields)
