"""CreditAccount: the credit rules stepped any number of minutes, against project_balance and the
EC2 User Guide's examples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.burstable import (
    BURSTABLE_SPECS,
    CreditAccount,
    CreditMode,
    burstable_spec,
    project_balance,
)

demands = st.floats(min_value=0, max_value=100, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(instance_type=st.sampled_from(sorted(BURSTABLE_SPECS)),
       mode=st.sampled_from(list(CreditMode)),
       hourly=st.lists(demands, min_size=1, max_size=30),
       start_fraction=st.floats(min_value=0, max_value=1),
       surplus=st.floats(min_value=0, max_value=500))
def test_twelve_five_minute_steps_are_one_hour_of_the_projection(
        instance_type: str, mode: CreditMode, hourly: list[float], start_fraction: float,
        surplus: float) -> None:
    spec = BURSTABLE_SPECS[instance_type]
    earned = start_fraction * spec.max_earned_credits
    surplus = surplus if mode is CreditMode.UNLIMITED else 0.0
    projection = project_balance(spec, hourly, mode=mode, earned_balance=earned,
                                 surplus_balance=surplus)
    account = CreditAccount.launched(spec, mode=mode)
    account.earned, account.surplus = earned, surplus
    for hour, demand in zip(projection, hourly, strict=True):
        steps = [account.step(5, demand) for _ in range(12)]
        assert account.earned == pytest.approx(hour.earned_balance, abs=1e-6)
        assert account.launch == pytest.approx(hour.launch_balance, abs=1e-6)
        assert steps[-1].balance == pytest.approx(hour.balance, abs=1e-6)
        assert steps[-1].surplus_balance == pytest.approx(hour.surplus_balance, abs=1e-6)
        assert sum(s.credit_usage for s in steps) == pytest.approx(hour.spent, abs=1e-6)
        assert sum(s.earned for s in steps) == pytest.approx(hour.earned, abs=1e-6)
        assert sum(s.surplus_charged for s in steps) == pytest.approx(hour.surplus_charged,
                                                                      abs=1e-6)
        assert sum(s.effective_cpu for s in steps) / 12 == pytest.approx(hour.effective_cpu,
                                                                         abs=1e-6)
        assert any(s.throttled for s in steps) is hour.throttled
        if hour.throttled:
            throttled_minutes = sum(s.throttled_minutes for s in steps)
            assert throttled_minutes == pytest.approx(
                (hour.hour + 1 - hour.throttled_from) * 60, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(instance_type=st.sampled_from(sorted(BURSTABLE_SPECS)),
       mode=st.sampled_from(list(CreditMode)),
       demand=demands,
       cuts=st.lists(st.floats(min_value=0.5, max_value=90), min_size=1, max_size=12))
def test_any_cut_of_a_steady_stretch_ends_in_the_same_state(
        instance_type: str, mode: CreditMode, demand: float, cuts: list[float]) -> None:
    spec = BURSTABLE_SPECS[instance_type]
    whole = CreditAccount.launched(spec, mode=mode)
    whole.step(sum(cuts), demand)
    pieces = CreditAccount.launched(spec, mode=mode)
    for minutes in cuts:
        pieces.step(minutes, demand)
    assert (pieces.earned, pieces.launch, pieces.surplus) == pytest.approx(
        (whole.earned, whole.launch, whole.surplus), abs=1e-6)


def test_t2_nano_standard_example() -> None:
    """EC2 User Guide, standard mode examples, Example 2 (t2.nano), in 5-minute steps: launch
    credits, the plateau at 102, launch credits spent first, the 36 credits of period 5."""
    account = CreditAccount.launched(burstable_spec("t2.nano"))
    assert (account.mode, account.balance) == (CreditMode.STANDARD, 30)

    def run(hours: float, demand: float) -> list:
        return [account.step(5, demand) for _ in range(round(hours * 12))]

    run(24, 0)
    assert (account.launch, account.earned) == (30, pytest.approx(72))
    run(12, 0)
    assert account.balance == pytest.approx(102)  # launch credits do not count to the limit
    run(24.75, 2)                                   # 1.2 spent/h: the 30 last 25 h
    assert account.launch == pytest.approx(0.3)
    run(11.25, 2)
    assert (account.launch, account.earned) == (0, pytest.approx(72))
    period5 = run(3, 20)                            # 12 spent, 3 earned per hour
    assert sum(s.credit_usage for s in period5) == pytest.approx(36)
    assert account.balance == pytest.approx(45)
    assert not any(s.throttled for s in period5)
    run(15, 2)
    assert account.balance == pytest.approx(72)


def test_t3_large_unlimited_example() -> None:
    """EC2 User Guide, unlimited mode concepts: a t3.large (30% baseline) averaging 40% for 24
    hours is billed for the extra 10%: 2 vCPUs x 10% x 1440 minutes = 288 surplus credits, which
    stay unpaid (not yet charged) until the surplus passes the 864-credit limit; from then on
    every hour charges 12 credits, the 10% at the flat rate."""
    spec = burstable_spec("t3.large")
    account = CreditAccount.launched(spec)
    assert (account.mode, account.balance) == (CreditMode.UNLIMITED, 0)
    day = [account.step(5, 40) for _ in range(24 * 12)]
    assert account.surplus == pytest.approx(288)
    assert account.balance == 0
    assert all(s.effective_cpu == 40 and not s.throttled for s in day)
    assert sum(s.surplus_charged for s in day) == 0
    later = [account.step(5, 40) for _ in range(72 * 12)]
    charges = [s.surplus_charged for s in later if s.surplus_charged]
    assert charges[-1] == pytest.approx(12)
    assert account.surplus == pytest.approx(spec.max_earned_credits)
    assert sum(charges) == pytest.approx(288 * 4 - 864)


def test_surplus_is_charged_at_the_end_of_the_clock_hour() -> None:
    # A t3.xlarge (96 earned per hour, limit 2304) above the limit at 10:05, back under it by
    # 11:00: nothing is charged.
    account = CreditAccount(burstable_spec("t3.xlarge"), CreditMode.UNLIMITED, surplus=2300)
    burst = account.step(5, 100)
    assert account.surplus == pytest.approx(2300 + 20 - 8) and burst.surplus_charged == 0
    rest = account.step(55, 0)
    assert rest.surplus_charged == 0 and account.surplus == pytest.approx(2312 - 88)
    # Started mid-hour, a step across the hour's end is cut there and charges at it.
    spec = burstable_spec("t3.nano")
    account = CreditAccount(spec, CreditMode.UNLIMITED, surplus=144, minutes_into_hour=50)
    step = account.step(20, 100)
    assert step.surplus_charged == pytest.approx(10 / 60 * (120 - 6))
    assert account.minutes_into_hour == pytest.approx(10)


def test_standard_throttles_inside_a_step() -> None:
    # A t3.micro with 2 credits at 50% spends 1 credit a minute and earns 0.2: empty after 2.5.
    account = CreditAccount(burstable_spec("t3.micro"), CreditMode.STANDARD, earned=2)
    step = account.step(5, 50)
    assert step.throttled and step.throttled_minutes == pytest.approx(2.5)
    assert step.effective_cpu == pytest.approx((50 * 2.5 + 10 * 2.5) / 5)
    assert step.balance == 0
    assert step.credit_usage == pytest.approx(2 * step.effective_cpu / 100 * 5)


def test_resumed_account_splits_launch_credits_above_the_limit() -> None:
    spec = burstable_spec("t2.nano")
    account = CreditAccount.resumed(spec, mode="standard", balance=100)
    assert (account.earned, account.launch) == (72, 28)
    with pytest.raises(ValueError, match="minutes"):
        account.step(-1, 10)
