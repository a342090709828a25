"""Templates instructors import, on a real SQLite history and the embedded cloud over HTTP:
storage and versions, who may do what, what students are offered, launches that keep their
version, secrets that never reach the database, the CLI, and the preview's lists."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from services import audit
from services import environment_service as environments
from services import preview_service
from services import template_library as library
from services.context import PortalContext
from services.engines.base import EngineName
from services.errors import InvalidStateError, PermissionDeniedError, ValidationError
from services.history.models import Environment, ImportedTemplate, ImportedTemplateVersion
from services.identity import Actor, Role
from services.limits import LimitExceededError
from services.template_library import TemplateSource
from tests.services.conftest import OPERATOR, Classroom

IMPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
NETWORK_LAB = IMPORTS / "cloudformation" / "network-lab.yaml"
NETWORK_LAB_V2 = IMPORTS / "cloudformation" / "network-lab-v2.yaml"
INVALID = IMPORTS / "cloudformation" / "invalid-property.yaml"
EVERY_PARAMETER = IMPORTS / "cloudformation" / "every-parameter.json"
GREETER = IMPORTS / "terraform" / "greeter"
PRICED = IMPORTS / "terraform" / "priced"
SANDBOX = str(Path(sys.executable).parent / "sandbox")
PASSWORD = "Hunter2Secret42"
ALICE = Actor("alice", Role.STUDENT)

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def _import(ctx: PortalContext, *, template_id: str = "net-lab", path: Path = NETWORK_LAB,
            actor: Actor = OPERATOR, courses: tuple[str, ...] = ("default",),
            **details: object) -> library.ImportedTemplate:
    return library.import_template(ctx, actor=actor, source=TemplateSource.from_path(path),
                                   template_id=template_id, courses=courses, **details)


def _default_vpc(ctx: PortalContext) -> str:
    choices = library.picker_choices(ctx, actor=ALICE, aws_type="AWS::EC2::VPC::Id")
    assert choices, "the embedded cloud has a default VPC"
    return choices[0].value


def _lab_values(ctx: PortalContext, **more: object) -> dict[str, object]:
    return {"PeerVpc": _default_vpc(ctx), "AdminPassword": PASSWORD, **more}


def _entries(ctx: PortalContext, action: str) -> list[audit.AuditView]:
    return audit.entries(ctx, actor=OPERATOR, actions=[action])


# -- storage --------------------------------------------------------------------------------------
def test_an_imported_template_is_stored_at_version_one_and_served_by_the_catalog(
        ctx: PortalContext) -> None:
    view = _import(ctx, title="Network lab", learning_goals=["Read a VPC's parameters."])

    assert (view.id, view.title, view.engine, view.current_version, view.courses) == (
        "net-lab", "Network lab", EngineName.CLOUDFORMATION, 1, ("default",))
    assert view.summary.startswith("A VPC with one subnet")
    assert [(v.number, v.uploaded_by) for v in view.versions] == [(1, "operator")]
    manifest = ctx.catalog.get_template("net-lab")
    assert manifest == view.manifest and manifest.version == 1
    assert "net-lab" in {t.id for t in ctx.catalog.all_templates()}
    # Written out once, privately, where the engines read a template's files.
    assert manifest.cloudformation_path.read_text() == NETWORK_LAB.read_text()
    assert stat.S_IMODE(manifest.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(manifest.cloudformation_path.stat().st_mode) == 0o600
    assert manifest.folder.is_relative_to(ctx.settings.data_dir / "templates" / "net-lab")
    with ctx.sessions() as session:
        stored = session.get(ImportedTemplateVersion, ("net-lab", 1))
        assert stored.source == NETWORK_LAB.read_text()
        assert stored.manifest["parameters"][0]["name"] == "EnvironmentName"
    [entry] = _entries(ctx, "template.import")
    assert (entry.actor, entry.outcome, entry.target) == ("operator", "succeeded", "net-lab")


def test_a_terraform_module_uploaded_as_a_zip_is_imported(ctx: PortalContext) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in GREETER.rglob("*"):
            if path.is_file():
                archive.write(path, f"greeter/{path.relative_to(GREETER).as_posix()}")

    view = library.import_template(
        ctx, actor=OPERATOR, source=TemplateSource.from_upload("greeter.zip", buffer.getvalue()),
        template_id="greeter")

    assert view.engine is EngineName.TERRAFORM and view.courses == ()
    assert view.manifest.engines == (EngineName.TERRAFORM,)
    assert (view.manifest.terraform_dir / "modules" / "label" / "main.tf").read_text() == \
        (GREETER / "modules" / "label" / "main.tf").read_text()
    assert any("settings" in finding for finding in view.findings)


def test_an_invalid_upload_is_refused_with_the_linters_message_and_nothing_is_stored(
        ctx: PortalContext) -> None:
    with pytest.raises(ValidationError) as refused:
        _import(ctx, template_id="broken", path=INVALID)

    assert "cfn-lint E3002" in refused.value.field_errors["template"]
    with ctx.sessions() as session:
        assert session.scalars(select(ImportedTemplate)).all() == []
    [entry] = _entries(ctx, "template.import")
    assert entry.outcome == "refused" and "BucketNam" in entry.detail


@pytest.mark.parametrize(("template_id", "message"), [
    ("web-server", "is a built-in template"),
    ("bad id!", "use 1-64 letters"),
])
def test_ids_of_built_in_templates_and_bad_ids_are_refused(ctx: PortalContext,
                                                           template_id: str,
                                                           message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _import(ctx, template_id=template_id)


def test_an_id_is_imported_once(ctx: PortalContext) -> None:
    _import(ctx)

    with pytest.raises(ValidationError, match="exists already: add a version"):
        _import(ctx)


def test_details_are_edited_and_the_catalog_shows_them_at_once(ctx: PortalContext) -> None:
    _import(ctx)
    ctx.catalog.get_template("net-lab")  # cached now

    view = library.update_details(ctx, actor=OPERATOR, template_id="net-lab",
                                  title="VPC lab", learning_goals=["One", "Two"])

    assert (view.title, view.learning_goals) == ("VPC lab", ("One", "Two"))
    assert view.summary.startswith("A VPC")
    manifest = ctx.catalog.get_template("net-lab")
    assert (manifest.title, manifest.learning_goals) == ("VPC lab", ("One", "Two"))
    assert [e.detail for e in _entries(ctx, "template.update")] == [
        "changed learning_goals, title"]


# -- who may do what ------------------------------------------------------------------------------
def test_only_instructors_import_and_assign_only_courses_they_teach(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room, other = classroom("cloud101"), classroom("cloud102", students=1)

    with pytest.raises(PermissionDeniedError):
        _import(ctx, actor=room.students[0], courses=())
    with pytest.raises(PermissionDeniedError, match="only an instructor of cloud102"):
        _import(ctx, actor=room.teacher, courses=("cloud102",))
    view = _import(ctx, actor=room.teacher, courses=("cloud101",))
    assert view.created_by == room.teacher.name

    with pytest.raises(PermissionDeniedError, match="only an instructor of cloud102"):
        library.assign_courses(ctx, actor=room.teacher, template_id="net-lab",
                               courses=["cloud101", "cloud102"])
    # The other course's instructor offers it to their own course, and may not take it from
    # a course they do not teach, nor change a template that is not theirs otherwise.
    shared = library.assign_courses(ctx, actor=other.teacher, template_id="net-lab",
                                    courses=["cloud101", "cloud102"])
    assert shared.courses == ("cloud101", "cloud102")
    with pytest.raises(PermissionDeniedError, match="only an instructor of cloud101"):
        library.assign_courses(ctx, actor=other.teacher, template_id="net-lab",
                               courses=["cloud102"])
    stranger = classroom("cloud103", students=0).teacher
    with pytest.raises(PermissionDeniedError, match="is changed by who imported it"):
        library.retire(ctx, actor=stranger, template_id="net-lab")
    with pytest.raises(PermissionDeniedError):
        library.list_templates(ctx, actor=room.students[0])

    outcomes = [(e.action, e.outcome, e.actor) for e in audit.entries(
        ctx, actor=OPERATOR, actions=["template.import", "template.assign", "template.retire"])]
    assert outcomes.count(("template.import", "refused", room.students[0].name)) == 1
    assert ("template.assign", "succeeded", other.teacher.name) in outcomes
    assert ("template.retire", "refused", stranger.name) in outcomes
    assert sum(1 for o in outcomes if o[1] == "refused") == 5


def test_a_student_is_offered_an_imported_template_only_in_its_courses(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("cloud101", students=1)
    elsewhere = classroom("cloud102", students=1)
    _import(ctx, courses=("cloud101",))

    assert "net-lab" in {t.id for t in ctx.catalog.templates_for_course("cloud101")}
    offered_elsewhere = {t.id for t in ctx.catalog.templates_for_course("cloud102")}
    assert "net-lab" not in offered_elsewhere and "web-server" in offered_elsewhere

    with pytest.raises(LimitExceededError, match="course cloud102 does not offer net-lab"):
        environments.start_launch(ctx, actor=elsewhere.students[0], template_id="net-lab",
                                  parameters=_lab_values(ctx), course="cloud102")
    # A course's own template list narrows the built-ins only: the template was assigned to
    # the course, which is the instructor's choice for it.
    from services import courses

    courses.update_course(ctx, actor=OPERATOR, course_id="cloud101", templates=["web-server"])
    started = environments.start_launch(ctx, actor=room.students[0], template_id="net-lab",
                                        parameters=_lab_values(ctx), course="cloud101")
    assert started.env_id
    with pytest.raises(LimitExceededError, match="does not offer web-server"):
        courses.update_course(ctx, actor=OPERATOR, course_id="cloud102",
                              templates=["three-tier"])
        environments.start_launch(ctx, actor=elsewhere.students[0], template_id="web-server",
                                  parameters={}, course="cloud102")
    refused = [e for e in _entries(ctx, "launch") if e.outcome == "refused"]
    assert len(refused) == 2 and all(PASSWORD not in (e.detail or "") for e in refused)


# -- versions -------------------------------------------------------------------------------------
def test_of_two_new_versions_at_once_exactly_one_wins(ctx: PortalContext) -> None:
    _import(ctx)
    source = TemplateSource.from_path(NETWORK_LAB_V2)
    start = threading.Barrier(2)
    results: list[object] = []

    def upload() -> None:
        start.wait()
        try:
            results.append(library.add_version(ctx, actor=OPERATOR, template_id="net-lab",
                                                source=source))
        except InvalidStateError as exc:
            results.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    won = [r for r in results if isinstance(r, library.ImportedTemplate)]
    lost = [r for r in results if isinstance(r, InvalidStateError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "changed a moment ago" in str(lost[0])
    view = library.get_template(ctx, actor=OPERATOR, template_id="net-lab")
    assert view.current_version == 2 and [v.number for v in view.versions] == [1, 2]
    assert [e.outcome for e in _entries(ctx, "template.version")] in (
        ["refused", "succeeded"], ["succeeded", "refused"])


def _at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls on threads released together; each one's result or refusal."""
    start = threading.Barrier(len(calls))
    results: list[object] = []

    def run(call: Callable[[], object]) -> None:
        start.wait()
        try:
            results.append(call())
        except InvalidStateError as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_of_two_course_assignments_at_once_one_applies_and_the_other_is_told(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    classroom("cloud101", students=1)
    classroom("cloud102", students=1)
    _import(ctx, courses=())
    results = _at_once(
        lambda: library.assign_courses(ctx, actor=OPERATOR, template_id="net-lab",
                                       courses=["cloud101"]),
        lambda: library.assign_courses(ctx, actor=OPERATOR, template_id="net-lab",
                                       courses=["cloud102"]))
    won = [r for r in results if isinstance(r, library.ImportedTemplate)]
    lost = [r for r in results if isinstance(r, InvalidStateError)]
    # Both read the same list: one applies and the other is told it changed. Or the second read
    # after the first had applied: both apply, one after the other.
    assert len(won) + len(lost) == 2 and won, results
    assert all("changed a moment ago" in str(exc) for exc in lost)
    # The stored list is one whole list as asked, never a mix of the two.
    stored = library.get_template(ctx, actor=OPERATOR, template_id="net-lab").courses
    assert stored in (("cloud101",), ("cloud102",))
    assert stored in [view.courses for view in won]
    refused = [e for e in _entries(ctx, "template.assign") if e.outcome == "refused"]
    assert len(refused) == len(lost)


def test_of_two_retirements_at_once_one_retires_and_the_other_is_told(
        ctx: PortalContext) -> None:
    _import(ctx)
    results = _at_once(
        *[lambda: library.retire(ctx, actor=OPERATOR, template_id="net-lab")] * 2)
    assert sorted(type(r).__name__ for r in results) == ["ImportedTemplate",
                                                          "InvalidStateError"]
    assert [e.outcome for e in _entries(ctx, "template.retire")] in (
        ["refused", "succeeded"], ["succeeded", "refused"])


def test_a_running_environment_keeps_the_version_it_was_launched_from(
        ctx: PortalContext) -> None:
    _import(ctx)
    first = environments.launch(ctx, actor=ALICE, template_id="net-lab",
                                parameters=_lab_values(ctx))
    assert first.status == "ready", first.status_reason

    view = library.add_version(ctx, actor=OPERATOR, template_id="net-lab",
                               source=TemplateSource.from_path(NETWORK_LAB_V2))

    assert view.current_version == 2 and "Team" in {p.name for p in view.manifest.parameters}
    assert "Team" not in {p.name for p in ctx.catalog.get_template("net-lab", 1).parameters}
    with ctx.sessions() as session:
        assert session.get(Environment, first.env_id).template_version == 1
    kept = environments.get_environment(ctx, actor=ALICE, env_id=first.env_id)
    assert [(o.name, o.label) for o in kept.outputs][:1] == [("VpcId", "The VPC's id")]

    second = environments.launch(ctx, actor=ALICE, template_id="net-lab",
                                 parameters=_lab_values(ctx, Team="green"))
    assert second.status == "ready", second.status_reason
    assert "NetworkId" in second.outputs_by_name
    with ctx.sessions() as session:
        assert session.get(Environment, second.env_id).template_version == 2

    for env_id in (first.env_id, second.env_id):
        destroyed = environments.destroy(ctx, actor=ALICE, env_id=env_id)
        assert destroyed.status == "destroyed", destroyed.status_reason
        assert destroyed.latest_run.leftovers == []


def test_a_retired_template_takes_no_new_launch_but_its_environments_live_on(
        ctx: PortalContext) -> None:
    _import(ctx)
    running = environments.launch(ctx, actor=ALICE, template_id="net-lab",
                                  parameters=_lab_values(ctx))
    assert running.status == "ready", running.status_reason

    view = library.retire(ctx, actor=OPERATOR, template_id="net-lab")

    assert view.retired and view.retired_at is not None
    assert "net-lab" not in {t.id for t in ctx.catalog.all_templates()}
    assert ctx.catalog.get_template("net-lab").retired
    with pytest.raises(LimitExceededError, match="net-lab is retired"):
        environments.start_launch(ctx, actor=OPERATOR, template_id="net-lab",
                                  parameters=_lab_values(ctx))
    with pytest.raises(InvalidStateError, match="retired"):
        library.add_version(ctx, actor=OPERATOR, template_id="net-lab",
                            source=TemplateSource.from_path(NETWORK_LAB_V2))
    with pytest.raises(InvalidStateError, match="retired already"):
        library.retire(ctx, actor=OPERATOR, template_id="net-lab")
    assert environments.get_environment(ctx, actor=ALICE, env_id=running.env_id).outputs[0] \
        .label == "The VPC's id"
    destroyed = environments.destroy(ctx, actor=ALICE, env_id=running.env_id)
    assert destroyed.status == "destroyed", destroyed.status_reason


# -- secrets --------------------------------------------------------------------------------------
def _database_bytes(ctx: PortalContext) -> bytes:
    path = Path(ctx.settings.effective_database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal"))
                    if p.exists())


def test_a_secret_is_deployed_but_never_stored_nor_rendered(ctx: PortalContext) -> None:
    _import(ctx)
    values = _lab_values(ctx)

    preview = preview_service.preview(ctx, template_id="net-lab", parameters=values,
                                      owner="alice")
    env = environments.launch(ctx, actor=ALICE, template_id="net-lab", parameters=values)

    assert env.status == "ready", env.status_reason
    assert PASSWORD not in preview.rendered.cloudformation_parameters_json
    assert env.parameters["AdminPassword"] == environments.SECRET_NOT_STORED
    resources = environments.get_environment(ctx, actor=ALICE, env_id=env.env_id,
                                             with_resources=True).resources
    secret_id = next(r["physical_id"] for r in resources if r["logical_id"] == "AdminSecret")
    secrets = ctx.connection.client("secretsmanager")
    assert secrets.get_secret_value(SecretId=secret_id)["SecretString"] == PASSWORD
    environments.destroy(ctx, actor=ALICE, env_id=env.env_id)
    assert PASSWORD.encode() not in _database_bytes(ctx)


def test_a_run_that_does_not_hold_the_secret_fails_cleanly(ctx: PortalContext) -> None:
    _import(ctx)
    started = environments.start_launch(ctx, actor=ALICE, template_id="net-lab",
                                        parameters=_lab_values(ctx))
    # What a worker in another process, or a run resumed after a crash, finds: nothing.
    assert environments._pending_secrets.take(started.run_id) == {"AdminPassword": PASSWORD}

    environments.run_launch(ctx, run_id=started.run_id)

    env = environments.get_environment(ctx, actor=ALICE, env_id=started.env_id)
    assert env.status == "failed"
    assert "secret parameter AdminPassword was kept only in the memory" in env.status_reason
    assert ctx.sweeper.find(started.env_id) == []
    assert ctx.engine("cloudformation").stack_status(env.deployment_name) is None


# -- the preview ----------------------------------------------------------------------------------
def test_the_preview_lists_what_is_not_priced_and_what_the_embedded_cloud_cannot_create(
        ctx: PortalContext) -> None:
    _import(ctx, template_id="every", path=EVERY_PARAMETER)

    preview = preview_service.preview(
        ctx, template_id="every", owner="alice",
        parameters={"Subnets": "subnet-0abc,subnet-0def", "KeyName": "lab-key"})

    assert {(n.resource, n.type) for n in preview.not_priced} == {
        ("Queue", "AWS::SQS::Queue"), ("Users", "AWS::Cognito::UserPool")}
    assert [(c.resource, c.type) for c in preview.cannot_create] == [
        ("Users", "AWS::Cognito::UserPool")]
    assert "the launch fails there naming it" in preview.cannot_create[0].reason
    assert {n.logical_id for n in preview.diagram.nodes} == {"Queue", "Users", "Bucket"}


def test_a_terraform_only_template_is_priced_and_drawn_from_its_module(
        ctx: PortalContext) -> None:
    _import(ctx, template_id="priced", path=PRICED)

    preview = preview_service.preview(ctx, template_id="priced", parameters={},
                                      owner="alice", lease_hours=2)

    estimate = next(iter(preview.estimates.values()))
    described = [line.description for line in estimate.lines]
    assert "1 × t3.micro - burstable: 10% CPU baseline" in described
    assert "10 GiB gp3 root volume" in described
    assert [(n.resource, n.type) for n in preview.not_priced] == [
        ("aws_sqs_queue.jobs", "aws_sqs_queue")]
    assert {(n.logical_id, n.resource_type) for n in preview.diagram.nodes} == {
        ("aws_instance.web", "AWS::EC2::Instance"), ("aws_sqs_queue.jobs", "aws_sqs_queue")}
    assert preview.rendered.cloudformation_template == ""
    assert preview.cannot_create == ()


def test_pickers_list_what_the_target_cloud_holds(ctx: PortalContext) -> None:
    subnets = library.picker_choices(ctx, actor=ALICE, aws_type="List<AWS::EC2::Subnet::Id>")
    zones = library.picker_choices(ctx, actor=ALICE,
                                   aws_type="AWS::EC2::AvailabilityZone::Name")

    assert subnets and all(c.value.startswith("subnet-") for c in subnets)
    assert "us-east-1a" in {c.value for c in zones}
    assert library.picker_choices(ctx, actor=ALICE, aws_type="AWS::Route53::HostedZone::Id") \
        == []


def test_a_terraform_module_launches_with_its_secret_and_is_destroyed(
        ctx: PortalContext) -> None:
    _import(ctx, template_id="greeter", path=GREETER)

    env = environments.launch(ctx, actor=ALICE, template_id="greeter",
                              parameters={"token": PASSWORD, "names": "x,y", "replicas": "3"})

    assert env.status == "ready", env.status_reason
    assert env.outputs_by_name["message"] == "hello (small) in us-east-1"
    assert env.parameters["token"] == environments.SECRET_NOT_STORED
    assert env.parameters["names"] == ["x", "y"]
    destroyed = environments.destroy(ctx, actor=ALICE, env_id=env.env_id)
    assert destroyed.status == "destroyed", destroyed.status_reason
    assert PASSWORD.encode() not in _database_bytes(ctx)


# -- the command line -----------------------------------------------------------------------------
def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SANDBOX, *args], capture_output=True, text=True, timeout=180,
                          env=os.environ.copy())


def test_the_cli_imports_lists_launches_with_native_names_and_retires(
        ctx: PortalContext) -> None:
    imported = run("templates", "import", str(NETWORK_LAB), "--id", "net-cli", "--title",
                   "Network lab", "--course", "default", "--json")
    assert imported.returncode == 0, imported.stderr
    assert {"id": "net-cli", "current_version": 1, "courses": ["default"]}.items() <= \
        json.loads(imported.stdout).items()

    listed = {t["id"]: t for t in json.loads(run("templates", "--json").stdout)}
    assert listed["net-cli"]["title"] == "Network lab"
    assert "PeerVpc" in {p["name"] for p in listed["net-cli"]["parameters"]}
    versions = json.loads(run("templates", "versions", "net-cli", "--json").stdout)
    assert [(v["version"], v["uploaded_by"]) for v in versions] == [(1, "operator")]

    launched = run("launch", "net-cli", "--owner", "carol", "--param",
                   f"PeerVpc={_default_vpc(ctx)}", "--param", f"AdminPassword={PASSWORD}",
                   "--param", "SshPort=2222", "--json")
    assert launched.returncode == 0, launched.stderr
    data = json.loads(launched.stdout)
    assert data["status"] == "ready" and data["outputs"]["VpcId"].startswith("vpc-")
    assert run("destroy", data["env_id"], "--json").returncode == 0

    retired = run("templates", "retire", "net-cli", "--json")
    assert retired.returncode == 0 and json.loads(retired.stdout)["retired"] is True
    refused = run("templates", "import", str(INVALID), "--id", "bad")
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "cfn-lint E3002" in refused.stderr


def test_a_preview_with_a_secret_among_its_values_is_never_kept(ctx: PortalContext) -> None:
    _import(ctx)
    kept_before = dict(preview_service._analyses)
    first = preview_service.preview(ctx, template_id="net-lab", parameters=_lab_values(ctx),
                                    owner=ALICE.name)
    again = preview_service.preview(ctx, template_id="net-lab", parameters=_lab_values(ctx),
                                    owner=ALICE.name)
    assert again.estimates is not first.estimates, "analysed anew: nothing kept under a secret"
    added = [key for key in preview_service._analyses if key not in kept_before]
    assert added == []
    assert PASSWORD not in repr(list(preview_service._analyses))
