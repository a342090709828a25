"""CPU credits of burstable instances, checked against the EC2 User Guide's table and examples."""

from __future__ import annotations

import math

import pytest

from services.burstable import (
    BURSTABLE_SPECS,
    CreditMode,
    burstable_spec,
    first_throttled,
    is_burstable,
    project_balance,
    surplus_cost_usd,
)


@pytest.mark.parametrize(("instance_type", "vcpus", "per_hour", "maximum", "baseline"), [
    ("t2.nano", 1, 3, 72, 5),
    ("t2.micro", 1, 6, 144, 10),
    ("t2.xlarge", 4, 54, 1296, 22.5),
    ("t2.2xlarge", 8, 81.6, 1958.4, 17),
    ("t3.nano", 2, 6, 144, 5),
    ("t3.micro", 2, 12, 288, 10),
    ("t3.small", 2, 24, 576, 20),
    ("t3.medium", 2, 24, 576, 20),
    ("t3.large", 2, 36, 864, 30),
    ("t3a.micro", 2, 12, 288, 10),
    ("t4g.xlarge", 4, 96, 2304, 40),
    ("t4g.2xlarge", 8, 192, 4608, 40),
])
def test_credit_table_rows(instance_type: str, vcpus: int, per_hour: float, maximum: float,
                           baseline: float) -> None:
    spec = burstable_spec(instance_type)
    assert spec is not None
    assert (spec.vcpus, spec.credits_per_hour, spec.max_earned_credits, spec.baseline_percent) \
        == (vcpus, per_hour, maximum, baseline)


@pytest.mark.parametrize("spec", list(BURSTABLE_SPECS.values()), ids=list(BURSTABLE_SPECS))
def test_every_row_follows_the_definitions(spec) -> None:
    # Baseline % = (credits earned / vCPUs) / 60 minutes; the accrual limit is 24 h of earnings.
    assert spec.credits_per_hour == pytest.approx(spec.vcpus * spec.baseline_percent / 100 * 60)
    assert spec.max_earned_credits == pytest.approx(24 * spec.credits_per_hour)
    assert spec.net_credits_per_hour(spec.baseline_percent) == pytest.approx(0)


@pytest.mark.parametrize(("instance_type", "mode", "launch_credits"), [
    ("t2.micro", CreditMode.STANDARD, 30),
    ("t2.xlarge", CreditMode.STANDARD, 120),
    ("t3.micro", CreditMode.UNLIMITED, 0),
    ("t3a.large", CreditMode.UNLIMITED, 0),
    ("t4g.small", CreditMode.UNLIMITED, 0),
])
def test_default_modes_and_launch_credits(instance_type: str, mode: CreditMode,
                                          launch_credits: float) -> None:
    spec = burstable_spec(instance_type)
    assert spec is not None
    assert spec.default_mode is mode
    assert spec.launch_credits == launch_credits


@pytest.mark.parametrize(("instance_type", "burstable"), [
    ("t3.micro", True), ("t4g.nano", True), ("m6i.large", False), ("c6i.large", False),
    ("db.t3.micro", False), ("t3", False)])
def test_which_types_burst(instance_type: str, burstable: bool) -> None:
    assert is_burstable(instance_type) is burstable
    assert (burstable_spec(instance_type) is not None) is burstable


def test_accrued_credits_example() -> None:
    # "a t3.nano running at 2% ... accrued credits = 6 - 2 vCPUs * 2% * 60 = 3.6 per hour"
    spec = burstable_spec("t3.nano")
    (hour,) = project_balance(spec, 2, hours=1, mode="standard")
    assert hour.balance == pytest.approx(3.6)
    assert spec.credits_spent_per_hour(2) == pytest.approx(2.4)


T3_PERIODS = [0] * 24 + [2.5] * 12 + [7] * 24 + [2.5] * 12


def test_t3_standard_example() -> None:
    """Standard mode examples, Example 1 (t3.nano), periods P1 to P7."""
    spec = burstable_spec("t3.nano")
    hours = project_balance(spec, T3_PERIODS + [100] * 2 + [5] * 14 + [0] * 24, mode="standard")
    assert hours[23].balance == pytest.approx(144)        # P1: idle 24 h, at the limit
    assert hours[35].balance == pytest.approx(144)        # P2: 2.5% < 5%, extra discarded
    assert hours[59].balance == pytest.approx(86.4)       # P3: 7% for 24 h spends 57.6 net
    assert hours[71].balance == pytest.approx(122.4)      # P4: "increases to 122 credits"
    assert hours[73].balance == pytest.approx(0)          # P5: depleted, held at 5%
    throttled_at = first_throttled(hours)
    assert throttled_at == pytest.approx(72 + 122.4 / 114)  # 100% spends 120/h, earns 6
    # The second hour of P5: 100% until the balance runs out, the baseline after that.
    into_hour = throttled_at - 73
    assert hours[73].effective_cpu == pytest.approx(100 * into_hour + 5 * (1 - into_hour))
    assert hours[73].throttled and not hours[72].throttled
    assert hours[87].balance == pytest.approx(0)          # P6: at the baseline, stays at 0
    assert hours[111].balance == pytest.approx(144)       # P7: idle again, back to the limit
    assert all(h.surplus_balance == 0 for h in hours)


def test_t2_standard_example_with_launch_credits() -> None:
    """Standard mode examples, Example 2 (t2.nano), periods 1 to 7."""
    spec = burstable_spec("t2.nano")
    hours = project_balance(spec, [0] * 36 + [2] * 36 + [20] * 3 + [2] * 15 + [0] * 6)
    assert (hours[13].launch_balance, hours[13].earned_balance) == (30, pytest.approx(42))
    assert hours[23].balance == pytest.approx(102)        # 30 launch + 72 earned
    assert hours[35].balance == pytest.approx(102)        # plateau: launch credits over limit
    assert hours[60].launch_balance == pytest.approx(0)   # period 3: launch credits spent first
    assert hours[60].earned_balance == pytest.approx(72)
    assert hours[71].balance == pytest.approx(72)         # period 4: at the limit
    assert hours[74].balance == pytest.approx(45)         # period 5: 72 - 36 + 9
    assert hours[89].balance == pytest.approx(72)         # period 6: 45 + 15 * 1.8
    assert hours[95].balance == pytest.approx(72)         # period 7
    assert first_throttled(hours) is None


def test_t3_unlimited_example() -> None:
    """Unlimited mode examples, Example 1 (t3.nano): P5 spends 570, 448 surplus, 304 charged."""
    spec = burstable_spec("t3.nano")
    # Starting P5 from the example's rounded 122 credits.
    hours = project_balance(spec, [100] * 5 + [5] * 13 + [0] * 24, mode="unlimited",
                            earned_balance=122)
    p5 = hours[:5]
    assert sum(h.spent - h.earned for h in p5) == pytest.approx(570)
    assert sum(h.surplus_charged for h in p5) == pytest.approx(304)
    assert hours[4].surplus_balance == pytest.approx(144)
    assert hours[17].surplus_balance == pytest.approx(144)  # P6: at the baseline, no paydown
    assert hours[41].surplus_balance == pytest.approx(0)    # P7: 24 idle hours pay it down
    assert not any(h.throttled for h in hours)
    assert [h.effective_cpu for h in p5] == [100] * 5
    # A credit is a vCPU-minute; surplus costs $0.05 per vCPU-hour.
    assert surplus_cost_usd(spec, hours) == pytest.approx(304 / 60 * 0.05)


def test_seed_t3_micro_at_fifty_percent() -> None:
    spec = burstable_spec("t3.micro")
    assert spec.net_credits_per_hour(50) == pytest.approx(-48)
    standard = project_balance(spec, 50, hours=24, mode="standard")
    assert first_throttled(standard) == 0
    assert all(h.throttled and h.effective_cpu == pytest.approx(10) for h in standard)
    assert standard[-1].balance == 0
    unlimited = project_balance(spec, 50, hours=8)
    assert [h.surplus_charged for h in unlimited] == pytest.approx([0] * 6 + [48, 48])


def test_t2_micro_throttles_after_its_launch_credits() -> None:
    # 50% on one vCPU spends 30/h: the 30 launch credits last 1 h, the 6 earned meanwhile
    # another 6/24 h.
    hours = project_balance(burstable_spec("t2.micro"), 50, hours=3)
    assert first_throttled(hours) == pytest.approx(1.25)
    assert hours[1].effective_cpu == pytest.approx(50 * 0.25 + 10 * 0.75)
    assert hours[0].throttled is False and hours[1].throttled is True


def test_below_the_baseline_never_throttles_and_caps() -> None:
    hours = project_balance(burstable_spec("t3.micro"), 4, hours=72, mode="standard")
    assert first_throttled(hours) is None
    assert hours[-1].balance == pytest.approx(288)


@pytest.mark.parametrize(("cpu", "hours", "error"), [
    (50, None, "hours"), ([10, 20], 3, "hours"), (math.nan, 2, "not a number")])
def test_bad_projection_arguments(cpu, hours, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        project_balance(burstable_spec("t3.micro"), cpu, hours=hours)
