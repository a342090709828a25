"""The credit predictor, checked through `predict_credits` against the EC2 User Guide's examples
("Standard mode examples", "Unlimited mode concepts" and "Unlimited mode examples" of burstable
performance instances), the seed's worked example, its validation and its JSON."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.burstable import CreditMode
from services.credit_predictor import (
    MAX_HOURS,
    SEED_APP_CPU_PERCENT,
    SEED_EXAMPLE,
    predict_credits,
)
from services.errors import ValidationError
from services.workload.profiles import AGENT_OVERHEAD_PERCENT, ClassSlot, WorkloadProfile

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


# The seed's worked example ------------------------------------------------------------------


def test_seed_example_is_held_at_the_baseline_from_the_first_minute() -> None:
    assert SEED_EXAMPLE.instance_type == "t3.micro"
    assert SEED_EXAMPLE.profile.agent_overhead_percent == AGENT_OVERHEAD_PERCENT == 8
    prediction = SEED_EXAMPLE.predict(start=MONDAY)
    assert prediction.mode is CreditMode.STANDARD
    # A t3.micro earns 2 vCPUs x 10% x 60 min = 12 credits an hour. The agents (8%) and the app
    # (5%) ask for 13%: 2 x 13% x 60 = 15.6 credits an hour, 3.6 more than it earns. A new T3
    # in standard mode has no launch credits, so its 0 credits last 0 / 3.6 = 0 hours.
    demand = SEED_APP_CPU_PERCENT + AGENT_OVERHEAD_PERCENT
    assert demand == 13
    earns, spends = 2 * 10 / 100 * 60, 2 * demand / 100 * 60
    assert (earns, spends) == (12, pytest.approx(15.6))
    assert prediction.start_balance == 0
    assert prediction.throttled_at_hour == 0 / (spends - earns) == 0
    assert len(prediction.hours) == 24
    # Held at the baseline it spends exactly what it earns: the balance never leaves 0.
    assert all(h.throttled and h.effective_cpu == pytest.approx(10) and h.balance == 0
               and h.demanded_cpu == pytest.approx(13) for h in prediction.hours)
    assert "held at its 10% baseline from the first minute" in prediction.summary
    assert "steady 5% + agents 8%" in prediction.summary


def test_seed_workload_from_a_full_balance_lasts_eighty_hours() -> None:
    # Even full (288 credits, 24 hours of earnings), 288 / (15.6 - 12) = 80 hours.
    prediction = predict_credits(instance_type="t3.micro", profile=SEED_EXAMPLE.profile,
                                 hours=96, start_balance=288, unlimited=False)
    assert prediction.throttled_at_hour == pytest.approx(80)
    assert prediction.hours[79].balance == pytest.approx(0, abs=1e-9)
    assert not prediction.hours[79].throttled and prediction.hours[80].throttled
    assert "288 credits run out after 80 hours" in prediction.summary


def test_the_seed_workload_on_a_t3_small_never_runs_out() -> None:
    # A t3.small earns 24 an hour: 24 - 15.6 = 8.4 kept each hour, 201.6 after 24 hours.
    prediction = predict_credits(instance_type="t3.small", profile=SEED_EXAMPLE.profile,
                                 start_balance=0, unlimited=False, start=MONDAY)
    assert prediction.throttled_at_hour is None
    assert prediction.end_balance == pytest.approx(24 * 8.4)
    assert all(h.effective_cpu == pytest.approx(13) for h in prediction.hours)
    assert "never runs out in 24 hours and ends with 201.6 credits" in prediction.summary


def test_the_seed_workload_in_unlimited_mode_borrows_surplus() -> None:
    # 3.6 credits an hour borrowed: 86.4 after 24 hours, under the 288 a t3.micro may owe
    # before the hourly charge starts; a credit is a vCPU-minute at $0.05 per vCPU-hour.
    prediction = predict_credits(instance_type="t3.micro", profile=SEED_EXAMPLE.profile,
                                 start_balance=0, unlimited=True)
    assert prediction.throttled_at_hour is None
    assert prediction.end_surplus == pytest.approx(86.4)
    assert prediction.surplus_cost_usd == 0
    assert prediction.unpaid_surplus_usd == pytest.approx(86.4 / 60 * 0.05)
    assert "owes 86.4 surplus credits ($0.07 if it stops then" in prediction.summary


# AWS's examples -------------------------------------------------------------------------------


def test_earned_minus_spent_credits() -> None:
    # "a t3.nano running at 2% ... 6 credits earned - 2 vCPUs x 2% x 60 = 3.6 accrued an hour"
    prediction = predict_credits(instance_type="t3.nano", cpu_percent=2, hours=1,
                                 start_balance=0, unlimited=False)
    (hour,) = prediction.hours
    assert (hour.earned, hour.spent) == (6, pytest.approx(2.4))
    assert hour.balance == pytest.approx(3.6)


def test_t2_nano_standard_example_launch_credits() -> None:
    """Standard mode examples, Example 2 (t2.nano), one period per prediction."""
    # Period 1: launched with 30 launch credits, idle. After 14 hours 30 + 42 earned = 72;
    # after 24 hours 102: launch credits do not count toward the 72-credit limit.
    period_1 = predict_credits(instance_type="t2.nano", cpu_percent=0, hours=36)
    assert period_1.mode is CreditMode.STANDARD and period_1.start_balance == 30
    assert period_1.hours[13].balance == pytest.approx(72)
    assert period_1.hours[23].balance == pytest.approx(102)
    assert period_1.hours[35].balance == pytest.approx(102)   # period 2: idle at the limit
    # Period 3: at 2% (1.2 credits an hour) the launch credits are spent first; earned credits
    # keep accruing to the limit meanwhile: after 25 hours the launch credits are gone (30 /
    # 1.2) and the balance is the 72 earned.
    period_3 = predict_credits(instance_type="t2.nano", cpu_percent=2, hours=25)
    assert period_3.hours[-1].launch_balance == pytest.approx(0)
    assert period_3.end_balance == pytest.approx(72)
    # Period 5: 20% for 3 hours spends 36 and earns 9: 72 - 36 + 9 = 45.
    period_5 = predict_credits(instance_type="t2.nano", cpu_percent=20, hours=3,
                               start_balance=72)
    assert period_5.end_balance == pytest.approx(45)
    assert period_5.throttled_at_hour is None
    # Period 6: back at 2%, 1.8 credits kept an hour: 45 + 15 x 1.8 = 72.
    period_6 = predict_credits(instance_type="t2.nano", cpu_percent=2, hours=15,
                               start_balance=45)
    assert period_6.end_balance == pytest.approx(72)
    # Period 7: idle at the limit; new credits are discarded.
    period_7 = predict_credits(instance_type="t2.nano", cpu_percent=0, hours=6,
                               start_balance=72)
    assert [h.balance for h in period_7.hours] == pytest.approx([72] * 6)


def test_t3_nano_standard_example_until_throttled() -> None:
    """Standard mode examples, Example 1 (t3.nano), P1 to P7."""
    p1 = predict_credits(instance_type="t3.nano", cpu_percent=0, hours=24, unlimited=False)
    assert p1.start_balance == 0 and p1.end_balance == pytest.approx(144)
    p3 = predict_credits(instance_type="t3.nano", cpu_percent=7, hours=24, unlimited=False,
                         start_balance=144)
    assert p3.end_balance == pytest.approx(86.4)       # spends 57.6 more than it earns
    p4 = predict_credits(instance_type="t3.nano", cpu_percent=2.5, hours=12, unlimited=False,
                         start_balance=86.4)
    assert p4.end_balance == pytest.approx(122.4)      # "increases to 122 credits"
    # P5: 100% spends 120 an hour and earns 6: 122.4 / 114 hours, then held at 5%.
    p5 = predict_credits(instance_type="t3.nano", cpu_percent=100, hours=2, unlimited=False,
                         start_balance=122.4)
    assert p5.throttled_at_hour == pytest.approx(122.4 / 114)
    assert p5.hours[0].effective_cpu == 100 and not p5.hours[0].throttled
    into = 122.4 / 114 - 1
    assert p5.hours[1].effective_cpu == pytest.approx(100 * into + 5 * (1 - into))
    assert p5.end_balance == 0
    assert "122.4 credits run out after 1.1 hours" in p5.summary
    p6 = predict_credits(instance_type="t3.nano", cpu_percent=5, hours=14, unlimited=False,
                         start_balance=0)
    assert p6.end_balance == 0 and p6.throttled_at_hour is None   # at the baseline exactly
    p7 = predict_credits(instance_type="t3.nano", cpu_percent=0, hours=24, unlimited=False,
                         start_balance=0)
    assert p7.end_balance == pytest.approx(144)


def test_t3_large_unlimited_at_forty_percent_pays_for_ten() -> None:
    """Unlimited mode concepts: a t3.large (30% baseline) averaging 40% over 24 hours is billed
    for the extra 10%: 10% x 2 vCPUs x 24 h = 4.8 vCPU-hours, $0.24 at $0.05 per vCPU-hour."""
    day = predict_credits(instance_type="t3.large", cpu_percent=40, hours=24, start_balance=0)
    assert day.mode is CreditMode.UNLIMITED          # the default of T3
    assert day.throttled_at_hour is None
    assert all(h.effective_cpu == 40 for h in day.hours)
    # 48 spent - 36 earned = 12 surplus credits an hour: 288 credits = 4.8 vCPU-hours.
    assert day.end_surplus == pytest.approx(288)
    assert day.surplus_cost_usd == 0                 # below the 864 it may owe for a day
    assert day.unpaid_surplus_usd == pytest.approx(0.24)
    # Running on, the surplus reaches 864 after 72 hours; from then on each hour's 12 surplus
    # credits are charged at its end: the fourth day costs the same $0.24.
    four_days = predict_credits(instance_type="t3.large", cpu_percent=40, hours=96,
                                start_balance=0, unlimited=True)
    assert four_days.hours[71].surplus_balance == pytest.approx(864)
    assert sum(h.surplus_charged for h in four_days.hours[:72]) == 0
    assert [h.surplus_charged for h in four_days.hours[72:]] == pytest.approx([12] * 24)
    assert four_days.surplus_cost_usd == pytest.approx(0.24)
    assert "$0.24 of surplus credits are charged" in four_days.summary


def test_t3_nano_unlimited_example_p5() -> None:
    """Unlimited mode examples, Example 1 (t3.nano), P5: 5 hours at 100% from 122 credits
    spend 570 more than they earn; 448 surplus, of which 304 (beyond 144) are charged."""
    p5 = predict_credits(instance_type="t3.nano", cpu_percent=100, hours=5, start_balance=122,
                         unlimited=True)
    assert sum(h.spent - h.earned for h in p5.hours) == pytest.approx(570)
    assert p5.end_surplus == pytest.approx(144)
    assert p5.surplus_cost_usd == pytest.approx(304 / 60 * 0.05)
    assert p5.unpaid_surplus_usd == pytest.approx(144 / 60 * 0.05)


# Inputs, defaults and time -----------------------------------------------------------------


@pytest.mark.parametrize(("instance_type", "unlimited", "mode", "start_balance"), [
    ("t2.micro", None, CreditMode.STANDARD, 30),     # T2 defaults to standard: launch credits
    ("t2.xlarge", False, CreditMode.STANDARD, 120),  # 30 per vCPU
    ("t2.micro", True, CreditMode.UNLIMITED, 0),
    ("t3.micro", None, CreditMode.UNLIMITED, 0),     # T3, T3a, T4g default to unlimited
    ("t4g.small", False, CreditMode.STANDARD, 0),    # no launch credits outside T2
])
def test_modes_and_what_a_new_instance_starts_with(instance_type: str, unlimited: bool | None,
                                                   mode: CreditMode,
                                                   start_balance: float) -> None:
    prediction = predict_credits(instance_type=instance_type, cpu_percent=0, hours=1,
                                 unlimited=unlimited)
    assert prediction.mode is mode
    assert prediction.start_balance == start_balance


def test_a_given_start_balance_is_earned_credits_without_launch_credits() -> None:
    # 30 given credits on a t2.micro are earned credits: at 0% they accrue only to the 144 limit,
    # where a new instance's 30 launch credits would sit on top of it.
    given = predict_credits(instance_type="t2.micro", cpu_percent=0, hours=24, start_balance=30)
    new = predict_credits(instance_type="t2.micro", cpu_percent=0, hours=24)
    assert given.end_balance == pytest.approx(144)
    assert new.end_balance == pytest.approx(174)


def test_class_hours_follow_the_clock_of_the_start() -> None:
    profile = WorkloadProfile.class_hours(60, off_peak=2, agents=8,
                                          slots=[ClassSlot(weekday=1, start_hour=9, end_hour=11)])
    tuesday_8am = datetime(2026, 1, 6, 8, tzinfo=UTC)
    prediction = predict_credits(instance_type="t3.micro", profile=profile, hours=5,
                                 start=tuesday_8am, start_balance=100, unlimited=False)
    assert [h.demanded_cpu for h in prediction.hours] == [10, 68, 68, 10, 10]
    # Class spends 2 x 68% x 60 = 81.6 an hour, 69.6 more than earned: 100 lasts 1.44 hours.
    assert prediction.throttled_at_hour == pytest.approx(1 + 100 / 69.6)
    assert "on average" in prediction.summary
    entries = prediction.to_json()["hours"]
    assert entries[1]["starts_at"] == "2026-01-06T09:00:00+00:00"


def test_start_defaults_to_this_hour_and_naive_times_are_utc() -> None:
    before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    prediction = predict_credits(instance_type="t3.micro", cpu_percent=5, hours=1)
    assert prediction.start in (before, before + timedelta(hours=1))
    naive = predict_credits(instance_type="t3.micro", cpu_percent=5, hours=1,
                            start=datetime(2026, 1, 5, 12))
    assert naive.start == datetime(2026, 1, 5, 12, tzinfo=UTC)
    seoul = predict_credits(instance_type="t3.micro", cpu_percent=5, hours=1,
                            start=datetime(2026, 1, 5, 21, tzinfo=timezone(timedelta(hours=9))))
    assert seoul.start == datetime(2026, 1, 5, 12, tzinfo=UTC)


# Validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "field", "words"), [
    ({"instance_type": "t3.mikro"}, "instance_type", ["not a burstable", "did you mean t3.micro",
                                                      "t3.small"]),
    ({"instance_type": "m6i.large"}, "instance_type", ["only t2, t3, t3a and t4g",
                                                       "t3.micro, t3.small"]),
    ({"instance_type": "db.t3.micro"}, "instance_type", ["not a burstable"]),
    ({"cpu_percent": 101}, "cpu_percent", ["101%", "from 0 to 100"]),
    ({"cpu_percent": -1}, "cpu_percent", ["-1%", "from 0 to 100"]),
    ({"cpu_percent": math.nan}, "cpu_percent", ["from 0 to 100"]),
    ({"cpu_percent": None}, "cpu_percent", ["or a workload profile"]),
    ({"profile": WorkloadProfile.idle()}, "cpu_percent", ["not both"]),
    ({"hours": 0}, "hours", ["from 1 to 168", "a week"]),
    ({"hours": 169}, "hours", ["from 1 to 168", "24 hours of earnings"]),
    ({"hours": 24.5}, "hours", ["whole number"]),
    ({"hours": True}, "hours", ["whole number"]),
    ({"start_balance": -1}, "start_balance", ["cannot be negative"]),
    ({"start_balance": 288.5}, "start_balance", ["t3.micro holds at most 288 credits",
                                                 "24 hours"]),
    ({"start_balance": math.nan}, "start_balance", ["not a number"]),
])
def test_bad_input_names_its_field(arguments: dict, field: str, words: list[str]) -> None:
    given = {"instance_type": "t3.micro", "cpu_percent": 20, **arguments}
    with pytest.raises(ValidationError) as raised:
        predict_credits(**given)
    assert list(raised.value.field_errors) == [field]
    for word in words:
        assert word in raised.value.field_errors[field]


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as raised:
        predict_credits(instance_type="c6i.large", cpu_percent=120, hours=500, start_balance=-5)
    # The start balance cannot be checked against an unknown type's maximum.
    assert set(raised.value.field_errors) == {"instance_type", "cpu_percent", "hours"}


def test_the_maximum_start_balance_follows_the_type() -> None:
    prediction = predict_credits(instance_type="t4g.2xlarge", cpu_percent=10,
                                 start_balance=4608)
    assert prediction.start_balance == 4608
    with pytest.raises(ValidationError, match="t4g.2xlarge holds at most 4608 credits"):
        predict_credits(instance_type="t4g.2xlarge", cpu_percent=10, start_balance=4609)
    assert predict_credits(instance_type="t3.micro", cpu_percent=10, hours=MAX_HOURS).hours


# JSON ---------------------------------------------------------------------------------------


def test_json_shape_and_the_meaning_of_an_hour() -> None:
    prediction = predict_credits(instance_type="t3.micro", cpu_percent=20, hours=6,
                                 start_balance=30, unlimited=False, start=MONDAY)
    data = json.loads(json.dumps(prediction.to_json()))
    assert set(data) == {"instance_type", "mode", "vcpus", "baseline_percent",
                         "credits_per_hour", "max_balance", "workload", "start",
                         "start_balance", "hours", "throttled_at_hour", "surplus_cost_usd",
                         "unpaid_surplus_usd", "summary"}
    assert (data["instance_type"], data["mode"], data["vcpus"], data["baseline_percent"],
            data["credits_per_hour"], data["max_balance"]) == (
        "t3.micro", "standard", 2, 10, 12, 288)
    assert data["start"] == "2026-01-05T00:00:00+00:00" and data["start_balance"] == 30
    assert len(data["hours"]) == 6
    assert set(data["hours"][0]) == {"hour", "starts_at", "demanded_cpu", "effective_cpu",
                                     "earned", "spent", "balance", "surplus_balance",
                                     "throttled"}
    # 20% spends 24 an hour and earns 12: hour 0 ends at 30 - 12 = 18 and hour 1 at 6; the
    # 30 credits run out 30 / 12 = 2.5 hours after the start, halfway through hour 2.
    assert [h["hour"] for h in data["hours"]] == [0, 1, 2, 3, 4, 5]
    assert [h["balance"] for h in data["hours"][:3]] == [18, 6, 0]
    assert data["throttled_at_hour"] == 2.5
    assert [h["throttled"] for h in data["hours"]] == [False, False, True, True, True, True]
    assert data["hours"][2]["effective_cpu"] == 15       # half at 20%, half at the 10% baseline
    assert data["hours"][3]["effective_cpu"] == 10
    assert data["surplus_cost_usd"] == 0 and data["unpaid_surplus_usd"] == 0
    assert data["summary"].endswith("its 30 credits run out after 2.5 hours, and its CPU is "
                                    "then held at its 10% baseline.")


def test_json_without_throttling_has_null_and_rounded_numbers() -> None:
    data = predict_credits(instance_type="t3.micro", cpu_percent=13, hours=24,
                           start_balance=0, unlimited=True).to_json()
    assert data["throttled_at_hour"] is None
    assert data["hours"][-1]["surplus_balance"] == 86.4     # not 86.39999999999999
    assert data["unpaid_surplus_usd"] == 0.072
