"""Workload profiles: demand at a moment, hourly means, descriptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.burstable import burstable_spec, first_throttled, project_balance
from services.workload.profiles import (
    AGENT_OVERHEAD_PERCENT,
    DEFAULT_CLASS_SLOTS,
    ClassSlot,
    ProfileKind,
    WorkloadProfile,
)

TUESDAY_9 = datetime(2024, 5, 7, 9, 0, tzinfo=UTC)


def test_agents_alone_stay_under_a_t3_micro_baseline_and_a_small_app_does_not() -> None:
    # The seed: the agents and a small app together are above the 10% baseline, so a t3.micro
    # that starts at 0 credits in standard mode is held at its baseline.
    spec = burstable_spec("t3.micro")
    assert AGENT_OVERHEAD_PERCENT < spec.baseline_percent
    with_app = WorkloadProfile.steady(3, agents=AGENT_OVERHEAD_PERCENT)
    hours = project_balance(spec, with_app.hourly_demands(TUESDAY_9, 24), mode="standard")
    assert first_throttled(hours) == 0
    assert hours[-1].balance == 0


@pytest.mark.parametrize(("profile", "when", "expected"), [
    (WorkloadProfile.idle(), TUESDAY_9, 0),
    (WorkloadProfile.idle(agents=8), TUESDAY_9, 8),
    (WorkloadProfile.steady(20, agents=8), TUESDAY_9, 28),
    (WorkloadProfile.class_hours(60, off_peak=2, agents=8), TUESDAY_9, 68),
    (WorkloadProfile.class_hours(60, off_peak=2, agents=8), TUESDAY_9 + timedelta(hours=2), 10),
    (WorkloadProfile.class_hours(60, off_peak=2), TUESDAY_9 - timedelta(minutes=1), 2),
    (WorkloadProfile.class_hours(60), TUESDAY_9 + timedelta(days=2), 60),      # Thursday
    (WorkloadProfile.class_hours(60), TUESDAY_9 + timedelta(days=1), 0),       # Wednesday
    (WorkloadProfile.steady(95, agents=10), TUESDAY_9, 100),                   # clamped
])
def test_demand_at(profile: WorkloadProfile, when: datetime, expected: float) -> None:
    assert profile.demand_at(when) == pytest.approx(expected)


def test_naive_times_are_utc() -> None:
    profile = WorkloadProfile.class_hours(50)
    assert profile.demand_at(datetime(2024, 5, 7, 9, 30)) == 50


def test_hourly_demands_from_a_whole_hour() -> None:
    profile = WorkloadProfile.class_hours(60, off_peak=2, agents=8)
    assert profile.hourly_demands(TUESDAY_9 - timedelta(hours=1), 4) == [10, 68, 68, 10]


def test_hourly_demands_from_the_middle_of_an_hour_weigh_both_hours() -> None:
    profile = WorkloadProfile.class_hours(60, off_peak=2, agents=8)
    # 08:15-09:15: 45 minutes at 10%, 15 at 68%.
    means = profile.hourly_demands(TUESDAY_9 - timedelta(minutes=45), 3)
    assert means == pytest.approx([10 * 0.75 + 68 * 0.25, 68, 68 * 0.75 + 10 * 0.25])
    # The mean of an hour is the mean of its minutes.
    start = TUESDAY_9 - timedelta(minutes=45)
    minutes = [profile.demand_at(start + timedelta(minutes=m)) for m in range(60)]
    assert means[0] == pytest.approx(sum(minutes) / 60)


def test_describe() -> None:
    assert WorkloadProfile.steady(20, agents=12).describe() == "steady 20% + agents 12%"
    assert WorkloadProfile.idle().describe() == "idle"
    assert WorkloadProfile.class_hours(60, off_peak=2, agents=8).describe() == (
        "class hours 60% (Tue 09-11, Thu 09-11 UTC), 2% otherwise + agents 8%")


def test_custom_slots_and_kind() -> None:
    slots = (ClassSlot(0, 14, 16),)
    profile = WorkloadProfile.class_hours(40, slots=slots)
    assert profile.kind is ProfileKind.CLASS_HOURS and profile.class_slots == slots
    assert profile.demand_at(datetime(2024, 5, 6, 15, tzinfo=UTC)) == 40  # a Monday
    assert profile.demand_at(TUESDAY_9) == 0
    assert len(DEFAULT_CLASS_SLOTS) == 2
    assert all(s.end_hour - s.start_hour == 2 for s in DEFAULT_CLASS_SLOTS)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: WorkloadProfile.steady(120), "cpu_percent"),
    (lambda: WorkloadProfile.steady(10, agents=-1), "agent_overhead_percent"),
    (lambda: WorkloadProfile.steady(float("nan")), "cpu_percent"),
    (lambda: ClassSlot(7, 9, 11), "weekday"),
    (lambda: ClassSlot(1, 11, 9), "hours"),
    (lambda: WorkloadProfile.idle().hourly_demands(TUESDAY_9, -1), "hours"),
])
def test_invalid_profiles(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
