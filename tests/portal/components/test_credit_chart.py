"""The credit chart: balance above, CPU asked for and got below, the baseline and the moment of
throttling marked where the prediction puts them."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from portal.components.credit_chart import credit_figure, predicted_credits
from services.credit_predictor import CreditPrediction, predict_credits
from services.workload.profiles import WorkloadProfile


def draining() -> CreditPrediction:
    # 20% on a t3.micro spends 24 an hour and earns 12: 30 credits last 2.5 hours.
    return predict_credits(instance_type="t3.micro", cpu_percent=20, hours=6, start_balance=30,
                           unlimited=False)


def traces(figure) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure.to_dict()["data"]}


def test_balance_cpu_baseline_and_throttling_are_drawn() -> None:
    figure = credit_figure(draining())
    drawn = traces(figure)
    assert list(drawn) == ["Credit balance", "CPU asked for", "CPU it gets", "Throttling starts"]

    # The balance at the start and at each hour's end, touching zero at 2.5 h.
    balance = drawn["Credit balance"]
    assert list(balance["x"]) == [0, 1, 2, 2.5, 3, 4, 5, 6]
    assert list(balance["y"]) == pytest.approx([30, 18, 6, 0, 0, 0, 0, 0])
    assert (balance["xaxis"], balance["yaxis"]) == ("x", "y")

    # Below: 20% asked for all along; 20% got until 2.5 h, the 10% baseline after.
    asked, got = drawn["CPU asked for"], drawn["CPU it gets"]
    assert (asked["yaxis"], got["yaxis"]) == ("y2", "y2")
    assert list(asked["y"]) == [20] * 7
    assert list(got["x"]) == [0, 1, 2, 2.5, 3, 4, 5, 6]
    assert list(got["y"]) == pytest.approx([20, 20, 20, 10, 10, 10, 10, 10])
    assert got["line"]["shape"] == asked["line"]["shape"] == "hv"

    marker = drawn["Throttling starts"]
    assert (list(marker["x"]), list(marker["y"]), marker["yaxis"]) == ([2.5], [10], "y2")

    shapes = figure.to_dict()["layout"]["shapes"]
    horizontal = {(s["yref"], s["y0"]) for s in shapes if s["y0"] == s["y1"]
                  and s["xref"].endswith("domain")}
    assert horizontal == {("y", 288), ("y2", 10)}      # the most it holds; the baseline
    vertical = [s for s in shapes if s["x0"] == s["x1"] == 2.5]
    assert {s["xref"] for s in vertical} == {"x", "x2"}  # across both panels
    notes = [a["text"] for a in figure.to_dict()["layout"]["annotations"]]
    assert "baseline 10%" in notes and "most it can hold: 288" in notes
    assert "held at the baseline from 2.5 h" in notes


def test_late_throttling_is_labelled_on_the_left_of_its_line() -> None:
    # 288 / (24 - 12) = 24 hours, in a 30-hour window: past the middle.
    late = predict_credits(instance_type="t3.micro", cpu_percent=20, hours=30,
                           start_balance=288, unlimited=False)
    assert late.throttled_at_hour == pytest.approx(24)
    (note,) = [a for a in credit_figure(late).to_dict()["layout"]["annotations"]
               if a["text"].startswith("held")]
    assert (note["x"], note["xanchor"], note["text"]) == (
        pytest.approx(24), "right", "held at the baseline from 24 h")


def test_unlimited_mode_draws_the_surplus_and_no_throttling() -> None:
    prediction = predict_credits(instance_type="t3.micro", cpu_percent=13, hours=24,
                                 start_balance=0, unlimited=True)
    figure = credit_figure(prediction)
    drawn = traces(figure)
    assert "Throttling starts" not in drawn
    surplus = drawn["Surplus credits owed"]
    assert surplus["y"][0] == 0 and surplus["y"][-1] == pytest.approx(86.4)
    assert list(drawn["CPU it gets"]["y"]) == pytest.approx([13] * 25)
    assert not [s for s in figure.to_dict()["layout"]["shapes"] if s["x0"] == s["x1"]]


def chart_app(prediction: "CreditPrediction") -> None:  # run as a script
    from portal.components.credit_chart import credit_chart

    credit_chart(prediction, key="demo")


def test_the_chart_renders_in_streamlit() -> None:
    at = AppTest.from_function(chart_app, args=(draining(),)).run()
    assert not at.exception
    (chart,) = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    assert [trace["name"] for trace in spec["data"]][-1] == "Throttling starts"
    assert chart.proto.alt == ("CPU credit balance and CPU utilization of a t3.micro over 6 "
                               "hours: held at the baseline from 2.5 h")


def test_the_page_asks_for_a_prediction_once_per_set_of_inputs() -> None:
    steady = WorkloadProfile.steady(20.0)
    asked = {"instance_type": "t3.micro", "profile": steady, "hours": 6, "start_balance": 30.0,
             "unlimited": False}
    # A start left empty is the current hour, as predict_credits takes it.
    kept = predicted_credits(**asked, start=None)
    assert kept == predict_credits(**asked)
    assert predicted_credits(**asked, start=None) == kept
    assert predicted_credits(**asked | {"hours": 7}, start=None).hours[-1].hour == 6
