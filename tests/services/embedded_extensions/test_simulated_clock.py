"""The simulated clock: the header a prepared client sends, and the emulator's reading of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.clouds.simulated_clock import (
    CLOCK_HEADER,
    DEPLOYMENT_PLAN_HEADER,
    DeploymentPlan,
    at_simulated_time,
    format_clock,
    scripted_deployment,
    simulated_now,
    use_simulated_clock,
)
from services.context import PortalContext

pytestmark = pytest.mark.xdist_group("embedded-cloud")

ROLE_ARN = "arn:aws:iam::123456789012:role/deploy"


def _private_client(ctx: PortalContext, service: str) -> Any:
    """A client of its own, for handlers that must not reach the context's shared clients."""
    connection = ctx.connection
    return connection.session.client(service, region_name=connection.region,
                                     endpoint_url=connection.endpoint_url)


def _sent_headers(client: Any) -> list[list[tuple[str, str]]]:
    """The simulation headers of every request `client` sends from now on."""
    sent: list[list[tuple[str, str]]] = []

    def capture(request: Any, **_: Any) -> None:
        sent.append([(name, value) for name, value in request.headers.items()
                     if name in (CLOCK_HEADER, DEPLOYMENT_PLAN_HEADER)])

    # Registered after use_simulated_clock's handler, so it sees what that one added.
    client.meta.events.register_last("before-send", capture)
    return sent


def _application(codedeploy: Any) -> str:
    name = f"clock-{uuid.uuid4().hex[:8]}"
    codedeploy.create_application(applicationName=name, computePlatform="Server")
    codedeploy.create_deployment_group(applicationName=name, deploymentGroupName="web",
                                       serviceRoleArn=ROLE_ARN)
    return name


def test_simulated_time_must_carry_a_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        with at_simulated_time(datetime(2024, 5, 6, 9, 30)):
            pass
    assert format_clock(datetime(2024, 5, 6, 11, 30, tzinfo=timezone(timedelta(hours=2)))) \
        == "2024-05-06T09:30:00.000000Z"


def test_blocks_nest_and_restore_the_outer_moment() -> None:
    outer = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
    inner = outer + timedelta(hours=3)
    assert simulated_now() is None
    with at_simulated_time(outer):
        with at_simulated_time(inner):
            assert simulated_now() == inner
        assert simulated_now() == outer
    assert simulated_now() is None


def test_deployment_plan_header_is_percent_encoded() -> None:
    plan = DeploymentPlan(duration_s=90.5, outcome="Failed", error_code="SCRIPT_FAILED",
                          message="ValidateService: exit 1; curl refused")
    assert plan.header_value() == ("duration=90.5;outcome=Failed;error=SCRIPT_FAILED;"
                                   "message=ValidateService%3A%20exit%201%3B%20curl%20refused")
    with pytest.raises(ValueError, match="outcome"):
        DeploymentPlan(outcome="Stopped")


def test_prepared_client_sends_the_header_only_inside_a_block(ctx: PortalContext) -> None:
    codedeploy = _private_client(ctx, "codedeploy")
    use_simulated_clock(codedeploy)
    use_simulated_clock(codedeploy)  # registering twice must not send the header twice
    sent = _sent_headers(codedeploy)
    when = datetime(2024, 5, 6, 9, 30, 15, 250000, tzinfo=UTC)

    codedeploy.list_applications()
    with at_simulated_time(when):
        codedeploy.list_applications()
        with scripted_deployment(DeploymentPlan(duration_s=60)):
            codedeploy.list_applications()
    codedeploy.list_applications()

    assert sent == [
        [],
        [(CLOCK_HEADER, "2024-05-06T09:30:15.250000Z")],
        [(CLOCK_HEADER, "2024-05-06T09:30:15.250000Z"),
         (DEPLOYMENT_PLAN_HEADER, "duration=60;outcome=Succeeded")],
        [],
    ]


def test_emulator_dates_what_a_request_causes_by_its_clock(ctx: PortalContext) -> None:
    codedeploy = use_simulated_clock(ctx.connection.client("codedeploy"))
    application = _application(codedeploy)
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3, minutes=17)

    with at_simulated_time(when):
        simulated = codedeploy.create_deployment(
            applicationName=application, deploymentGroupName="web")["deploymentId"]
    before = datetime.now(UTC)
    unstamped = codedeploy.create_deployment(
        applicationName=application, deploymentGroupName="web")["deploymentId"]
    after = datetime.now(UTC)

    infos = {d["deploymentId"]: d for d in codedeploy.batch_get_deployments(
        deploymentIds=[simulated, unstamped])["deploymentsInfo"]}
    assert infos[simulated]["createTime"] == when
    # Without the header the request happens now (the answer keeps milliseconds only).
    created = infos[unstamped]["createTime"]
    assert before - timedelta(milliseconds=1) <= created <= after


def test_emulator_refuses_a_clock_it_cannot_read(ctx: PortalContext) -> None:
    codedeploy = _private_client(ctx, "codedeploy")

    def naive_clock(request: Any, **_: Any) -> None:
        request.headers[CLOCK_HEADER] = "2024-05-06T09:30:00"

    codedeploy.meta.events.register("before-send", naive_clock)
    with pytest.raises(ClientError) as refused:
        codedeploy.list_applications()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
