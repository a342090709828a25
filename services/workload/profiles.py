"""Workload profiles: the CPU an instance demands at any moment.

A profile is what the instance *asks for*; what it gets depends on its CPU credits
(`services.burstable`). Utilization is on CloudWatch's scale: the average over the instance's
vCPUs, 0-100. Class slots are whole UTC hours, so a profile's demand is constant between two whole
hours; that is what lets `hourly_demands` be exact for a start in the middle of an hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.clouds.aws_calls import as_utc

# The SSM, CloudWatch and CodeDeploy agents together, as CPUUtilization of a t3.micro (2 vCPUs),
# when the instance is otherwise idle. An estimate, not a measurement:
# - CloudWatch agent: reports on its issue tracker put it under 5% of a core when it only
#   collects metrics and at 15-20% of a core once it tails log files (amazon-cloudwatch-agent
#   #807 on a t3.small, #319: 5% -> 15% with log tailing); a class stack ships its web and
#   deployment logs, so about 8% of one vCPU.
# - CodeDeploy agent: a Ruby process that long-polls for commands, about 3-4% of one vCPU at
#   rest and far more while it unpacks a revision (its tracker has many reports of it holding
#   memory and CPU after deployments).
# - SSM agent and its worker: about 2-3% of one vCPU, with spikes at boot (amazon-ssm-agent #353).
# About 15% of one vCPU in all, i.e. 7.5% averaged over the t3.micro's two vCPUs; rounded up to
# 8%. With even a small app (nginx + PHP answering a health check every few seconds, 2-3%) the
# instance sits above its 10% baseline, so it drains credits it never earned back: the seed's
# t3.micro, which started at 0 credits in standard mode, was held at its baseline again and again.
AGENT_OVERHEAD_PERCENT: float = 8.0


class ProfileKind(StrEnum):
    IDLE = "idle"
    STEADY = "steady"
    CLASS_HOURS = "class_hours"


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ClassSlot:
    """A weekly class session in whole UTC hours: `weekday` (Monday = 0), [start_hour, end_hour)."""

    weekday: int
    start_hour: int
    end_hour: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday: {self.weekday} is not 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError(
                f"hours: {self.start_hour}-{self.end_hour} is not a range within a day")

    def contains(self, when: datetime) -> bool:
        when = as_utc(when)
        return when.weekday() == self.weekday and self.start_hour <= when.hour < self.end_hour

    def describe(self) -> str:
        return f"{_WEEKDAYS[self.weekday]} {self.start_hour:02d}-{self.end_hour:02d}"


# Two 2-hour sessions a week, Tuesday and Thursday mornings (UTC).
DEFAULT_CLASS_SLOTS: tuple[ClassSlot, ...] = (ClassSlot(1, 9, 11), ClassSlot(3, 9, 11))


@dataclass(frozen=True)
class WorkloadProfile:
    kind: ProfileKind
    cpu_percent: float = 0.0
    """steady: the demanded CPU; class_hours: the CPU outside class hours; idle: ignored (0)."""
    peak_cpu_percent: float = 0.0
    """class_hours: the CPU during class hours."""
    class_slots: tuple[ClassSlot, ...] = field(default=DEFAULT_CLASS_SLOTS)
    agent_overhead_percent: float = 0.0
    """The SSM, CloudWatch and CodeDeploy agents, added at every moment."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ProfileKind(self.kind))
        object.__setattr__(self, "class_slots", tuple(self.class_slots))
        for name in ("cpu_percent", "peak_cpu_percent", "agent_overhead_percent"):
            value = getattr(self, name)
            if not 0.0 <= value <= 100.0:  # also rejects NaN
                raise ValueError(f"{name}: {value} is not a percentage from 0 to 100")

    @classmethod
    def idle(cls, *, agents: float = 0.0) -> WorkloadProfile:
        return cls(ProfileKind.IDLE, agent_overhead_percent=agents)

    @classmethod
    def steady(cls, percent: float, *, agents: float = 0.0) -> WorkloadProfile:
        return cls(ProfileKind.STEADY, cpu_percent=percent, agent_overhead_percent=agents)

    @classmethod
    def class_hours(cls, peak: float, *, off_peak: float = 0.0, agents: float = 0.0,
                    slots: Sequence[ClassSlot] = DEFAULT_CLASS_SLOTS) -> WorkloadProfile:
        return cls(ProfileKind.CLASS_HOURS, cpu_percent=off_peak, peak_cpu_percent=peak,
                   class_slots=tuple(slots), agent_overhead_percent=agents)

    def in_class(self, when: datetime) -> bool:
        return any(slot.contains(when) for slot in self.class_slots)

    def demand_at(self, when: datetime) -> float:
        """The CPU demanded at `when` (naive times are UTC), 0-100."""
        match self.kind:
            case ProfileKind.IDLE:
                workload = 0.0
            case ProfileKind.STEADY:
                workload = self.cpu_percent
            case ProfileKind.CLASS_HOURS:
                workload = self.peak_cpu_percent if self.in_class(when) else self.cpu_percent
        return min(max(workload + self.agent_overhead_percent, 0.0), 100.0)

    def hourly_demands(self, start: datetime, hours: int) -> list[float]:
        """The mean demand of each of the `hours` hours from `start`.

        Demand only changes on whole UTC hours, so an hour that starts mid-hour is the weighted
        mean of the two whole hours it overlaps.
        """
        if hours < 0:
            raise ValueError("hours: must not be negative")
        start = as_utc(start)
        hour_start = start.replace(minute=0, second=0, microsecond=0)
        into_hour = (start - hour_start) / timedelta(hours=1)
        means = []
        for index in range(hours):
            this_hour = hour_start + timedelta(hours=index)
            first = self.demand_at(this_hour)
            if into_hour == 0:
                means.append(first)
            else:
                second = self.demand_at(this_hour + timedelta(hours=1))
                means.append(first * (1 - into_hour) + second * into_hour)
        return means

    def describe(self) -> str:
        """One line for people: "steady 20% + agents 8%"."""
        match self.kind:
            case ProfileKind.IDLE:
                text = "idle"
            case ProfileKind.STEADY:
                text = f"steady {self.cpu_percent:g}%"
            case ProfileKind.CLASS_HOURS:
                slots = ", ".join(slot.describe() for slot in self.class_slots) or "no slots"
                text = (f"class hours {self.peak_cpu_percent:g}% ({slots} UTC), "
                        f"{self.cpu_percent:g}% otherwise")
        if self.agent_overhead_percent:
            text += f" + agents {self.agent_overhead_percent:g}%"
        return text


