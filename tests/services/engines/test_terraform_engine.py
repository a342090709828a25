"""The Terraform engine running real Terraform on the provider-free fixture template
(tests/fixtures/templates/terraform-only): plan, apply with its events as they happen, outputs,
resources, a second apply, destroy, a failure and a deadline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services import context as context_module
from services import environment_service as environments
from services.catalog_service import TemplateManifest
from services.context import PortalContext
from services.engines.base import (
    CREATE_COMPLETE,
    CREATE_FAILED,
    CREATE_IN_PROGRESS,
    DELETE_COMPLETE,
    DELETE_IN_PROGRESS,
    DeploymentRef,
    DeploymentRequest,
    ResourceEvent,
)
from services.engines.terraform_engine import TerraformEngine
from services.engines.terraform_runner import GRACE_S, OUTPUT_DIR
from services.identity import Actor, Role
from services.render_service import terraform_files

pytestmark = pytest.mark.slow

ADDRESSES = {"terraform_data.greeting", "terraform_data.replica[0]", "terraform_data.replica[1]",
             "terraform_data.slow", "module.label.terraform_data.label"}
# Comfortably more than the fixture needs (under a second per command).
DEADLINE_S = 120.0


class EventLog:
    """An `on_events` sink that keeps each event and when it arrived."""

    def __init__(self) -> None:
        self.events: list[ResourceEvent] = []
        self.arrived: list[float] = []

    def __call__(self, events: list[ResourceEvent]) -> None:
        for event in events:
            self.events.append(event)
            self.arrived.append(time.monotonic())

    def statuses(self, address: str) -> list[str]:
        return [e.status for e in self.events if e.logical_id == address]

    def first(self, address: str, status: str) -> int:
        return next(i for i, e in enumerate(self.events)
                    if e.logical_id == address and e.status == status)


def ref_of(request: DeploymentRequest, deployment_id: str | None = None) -> DeploymentRef:
    return DeploymentRef(env_id=request.env_id, deployment_name=request.deployment_name,
                         deployment_id=deployment_id)


def deadline(seconds: float = DEADLINE_S) -> float:
    return time.monotonic() + seconds


def sleeping(seconds: int) -> list[int]:
    """Pids of `sleep SECONDS` processes: a provisioner's command still running."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[:2] == [b"sleep", str(seconds).encode()]:
                found.append(int(entry.name))
    return found


def test_terraform_runs_and_the_fixture_needs_no_provider(
        engine: TerraformEngine, fixture_manifest: TemplateManifest) -> None:
    assert engine.availability(None).available
    assert engine.availability(fixture_manifest).available


def test_a_plan_lists_what_an_apply_would_create_and_leaves_nothing(
        engine: TerraformEngine, deployment: Callable[..., DeploymentRequest]) -> None:
    request = deployment("sbx-plan")
    planned = engine.plan(request)
    assert {p.address for p in planned} == ADDRESSES
    assert {(p.resource_type, p.action) for p in planned} == {("terraform_data", "create")}
    assert list((engine.root / ".plans").iterdir()) == []
    assert not (engine.root / "sbx-plan").exists()
    assert engine.resources(ref_of(request)) == []


def test_the_life_of_a_deployment(engine: TerraformEngine,
                                  deployment: Callable[..., DeploymentRequest]) -> None:
    # The slow resource sleeps 2 s after the others are made: their events must have arrived
    # by then, while the apply still runs, not all at once at its end.
    request = deployment("sbx-life", delay_seconds=2)
    log = EventLog()
    started = time.monotonic()
    result = engine.apply(request, deadline=deadline(), on_events=log)
    returned = time.monotonic()
    assert result.succeeded, result.error
    assert returned - started >= 2

    # Every resource: created once, started before completed, completed with its id.
    assert {e.logical_id for e in log.events} == ADDRESSES
    for address in ADDRESSES:
        assert log.statuses(address) == [CREATE_IN_PROGRESS, CREATE_COMPLETE], address
    assert len({e.event_key for e in log.events}) == len(log.events)
    assert not any(e.event_key.startswith("portal-") for e in log.events)
    assert all(e.resource_type == "terraform_data" for e in log.events)
    assert all(e.occurred_at.tzinfo is not None for e in log.events)
    # In the order Terraform made them: what a resource depends on is complete first.
    for before, after in (("terraform_data.greeting", "terraform_data.replica[0]"),
                          ("terraform_data.replica[1]", "terraform_data.slow"),
                          ("terraform_data.slow", "module.label.terraform_data.label")):
        assert log.first(before, CREATE_COMPLETE) < log.first(after, CREATE_IN_PROGRESS)
    greeting_done = log.arrived[log.first("terraform_data.greeting", CREATE_COMPLETE)]
    assert returned - greeting_done >= 1.5, "events came at the end, not as they happened"

    # Outputs by the manifest's names; the sensitive one never leaves Terraform.
    created = {e.logical_id: e.physical_id for e in log.events if e.status == CREATE_COMPLETE}
    replica_ids = [created["terraform_data.replica[0]"], created["terraform_data.replica[1]"]]
    assert result.outputs == {"message": "hello from us-east-1",
                              "replica_ids": json.dumps(replica_ids), "label": "hello, alice"}
    ref = ref_of(request, result.deployment_id)
    assert engine.outputs(ref, request.manifest) == result.outputs

    # The state's resources, each with Terraform's id as its physical id.
    listed = engine.resources(ref)
    assert {(r.logical_id, r.resource_type, r.physical_id) for r in listed} == \
        {(address, "terraform_data", created[address]) for address in ADDRESSES}
    assert result.deployment_id and len(result.deployment_id) == 36  # the state's lineage

    # Applied again (as by a worker taking over): nothing made twice, nothing made anew.
    again = EventLog()
    second = engine.apply(request, deadline=deadline(), on_events=again)
    assert second.succeeded, second.error
    assert again.events == []
    assert second.deployment_id == result.deployment_id
    assert second.outputs == result.outputs
    assert {(r.logical_id, r.physical_id) for r in engine.resources(ref)} == set(created.items())

    # The working directory is private, and nothing the runs wrote is left behind.
    workdir = engine.root / "sbx-life"
    assert engine.root.stat().st_mode & 0o077 == 0
    assert workdir.stat().st_mode & 0o077 == 0
    assert (workdir / "terraform.tfstate").stat().st_mode & 0o077 == 0
    assert list((workdir / OUTPUT_DIR).iterdir()) == []

    gone = EventLog()
    destroyed = engine.destroy(ref, deadline=deadline(), on_events=gone)
    assert destroyed.succeeded, destroyed.error
    for address in ADDRESSES:
        assert gone.statuses(address) == [DELETE_IN_PROGRESS, DELETE_COMPLETE], address
        assert {e.physical_id for e in gone.events if e.logical_id == address} == \
            {created[address]}
    assert gone.first("module.label.terraform_data.label", DELETE_COMPLETE) < \
        gone.first("terraform_data.greeting", DELETE_IN_PROGRESS)
    assert engine.resources(ref) == []
    assert engine.outputs(ref, request.manifest) == {}
    assert not workdir.exists()
    # What is gone is destroyed again without complaint.
    assert engine.destroy(ref, deadline=deadline(), on_events=EventLog()).succeeded


def test_a_value_terraform_refuses_fails_with_its_reason_and_leaves_nothing(
        engine: TerraformEngine, deployment: Callable[..., DeploymentRequest]) -> None:
    # The manifest lets "failing" through; the module's variable validation does not.
    request = deployment("sbx-refused", greeting="failing greeting")
    log = EventLog()
    result = engine.apply(request, deadline=deadline(), on_events=log)
    assert not result.succeeded and not result.timed_out
    assert result.error is not None
    assert "Invalid value for variable" in result.error
    assert 'The greeting must not start with "fail"' in result.error
    assert log.events == []
    ref = ref_of(request, result.deployment_id)
    assert engine.resources(ref) == []
    destroyed = engine.destroy(ref, deadline=deadline(), on_events=log)
    assert destroyed.succeeded, destroyed.error
    assert log.events == []
    assert not (engine.root / "sbx-refused").exists()


def test_a_deadline_stops_terraform_keeps_its_state_and_a_later_apply_completes(
        engine: TerraformEngine, deployment: Callable[..., DeploymentRequest]) -> None:
    # 97 s: a sleep no other test starts, so the check for a leftover finds only this one's.
    request = deployment("sbx-deadline", delay_seconds=97)
    log = EventLog()
    started = time.monotonic()
    result = engine.apply(request, deadline=deadline(3), on_events=log)
    took = time.monotonic() - started
    assert result.timed_out and not result.succeeded
    assert 3 <= took < 3 + GRACE_S
    assert "deadline" in (result.error or "")
    assert sleeping(97) == [], "the provisioner's command outlived its Terraform"
    failed = [e for e in log.events if e.status == CREATE_FAILED]
    assert [e.logical_id for e in failed] == ["terraform_data.slow"]
    assert failed[0].reason and "local-exec" in failed[0].reason
    ref = ref_of(request, result.deployment_id)
    # Terraform stopped as on Ctrl-C: what it made is in its state.
    made = {r.logical_id: r.physical_id for r in engine.resources(ref)}
    assert {"terraform_data.greeting", "terraform_data.replica[0]",
            "terraform_data.replica[1]"} <= set(made)

    # A worker taking over applies again: the made resources stay, the rest is made.
    resumed = deployment("sbx-deadline", delay_seconds=0)
    log = EventLog()
    result = engine.apply(resumed, deadline=deadline(), on_events=log)
    assert result.succeeded, result.error
    after = {r.logical_id: r.physical_id for r in engine.resources(ref)}
    assert set(after) == ADDRESSES
    for address in ("terraform_data.greeting", "terraform_data.replica[0]",
                    "terraform_data.replica[1]"):
        assert after[address] == made[address]
        assert log.statuses(address) == []
    # The resource the deadline cut short was tainted: replaced, its old self deleted first.
    assert log.statuses("terraform_data.slow") == [DELETE_IN_PROGRESS, DELETE_COMPLETE,
                                                   CREATE_IN_PROGRESS, CREATE_COMPLETE]
    assert after["terraform_data.slow"] != made["terraform_data.slow"]
    assert engine.destroy(ref, deadline=deadline(), on_events=EventLog()).succeeded


def test_a_deadline_already_past_starts_nothing(
        engine: TerraformEngine, deployment: Callable[..., DeploymentRequest]) -> None:
    request = deployment("sbx-late")
    result = engine.apply(request, deadline=time.monotonic() - 1, on_events=EventLog())
    assert result.timed_out and not result.succeeded
    assert engine.resources(ref_of(request)) == []


def test_concurrent_launches_keep_to_their_own_directories_and_states(
        engine: TerraformEngine, deployment: Callable[..., DeploymentRequest]) -> None:
    requests = [deployment(f"sbx-many{i}", greeting=f"hello number {word}", replicas=i + 1)
                for i, word in enumerate(("one", "two", "three"))]
    results = {}

    def launch(request: DeploymentRequest) -> None:
        results[request.deployment_name] = engine.apply(request, deadline=deadline(),
                                                        on_events=EventLog())

    threads = [threading.Thread(target=launch, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, request in enumerate(requests):
        result = results[request.deployment_name]
        assert result.succeeded, result.error
        assert result.outputs["message"] == f"{request.values['greeting']} from us-east-1"
        assert len(json.loads(result.outputs["replica_ids"])) == i + 1
        assert len(engine.resources(ref_of(request))) == 4 + i
    assert len({results[r.deployment_name].deployment_id for r in requests}) == 3
    for request in requests:
        assert engine.destroy(ref_of(request), deadline=deadline(),
                              on_events=EventLog()).succeeded


def test_a_terraform_executable_named_by_the_settings_is_run(
        make_engine: Callable[..., TerraformEngine],
        deployment: Callable[..., DeploymentRequest]) -> None:
    binary = shutil.which("terraform") or shutil.which("tofu")
    if binary is None:
        pytest.skip("no terraform or tofu executable on PATH")
    engine = make_engine(terraform_bin=binary)
    assert engine.runner.command() == [binary]
    request = deployment("sbx-binary")
    result = engine.apply(request, deadline=deadline(), on_events=EventLog())
    assert result.succeeded, result.error
    assert result.outputs["label"] == "hello, alice"
    state = json.loads((engine.root / "sbx-binary" / "terraform.tfstate").read_text())
    version = subprocess.run([binary, "version", "-json"], capture_output=True, text=True,
                             env={**os.environ, "CHECKPOINT_DISABLE": "1"}, check=True)
    assert state["terraform_version"] == json.loads(version.stdout)["terraform_version"]
    assert engine.destroy(ref_of(request), deadline=deadline(), on_events=EventLog()).succeeded


def test_a_missing_executable_is_named_and_nothing_runs(
        make_engine: Callable[..., TerraformEngine], fixture_manifest: TemplateManifest,
        deployment: Callable[..., DeploymentRequest], tmp_path: Path) -> None:
    missing = tmp_path / "bin" / "terraform"
    engine = make_engine(terraform_bin=str(missing))
    for manifest in (None, fixture_manifest):
        answer = engine.availability(manifest)
        assert not answer.available and str(missing) in (answer.reason or "")
    result = engine.apply(deployment("sbx-nobinary"), deadline=deadline(),
                          on_events=EventLog())
    assert not result.succeeded and str(missing) in (result.error or "")


def test_deployment_names_cannot_leave_the_terraform_folder(
        engine: TerraformEngine, deployment: Callable[..., DeploymentRequest]) -> None:
    request = deployment("sbx-ok")
    for name in ("../escape", "a/b", ".hidden", ""):
        bad = DeploymentRequest(env_id="x", deployment_name=name, manifest=request.manifest,
                                values=request.values, tags=request.tags, region="us-east-1")
        with pytest.raises(ValueError):
            engine.apply(bad, deadline=deadline(), on_events=EventLog())
    assert not (engine.root.parent / "escape").exists()


def test_the_environment_of_the_portal_does_not_reach_terraform(
        engine: TerraformEngine, deployment: Callable[..., DeploymentRequest],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A value the portal's user happened to export would otherwise win over terraform.tfvars.
    monkeypatch.setenv("TF_VAR_greeting", "failing from the environment")
    monkeypatch.setenv("TF_CLI_ARGS_apply", "-destroy")
    request = deployment("sbx-env")
    result = engine.apply(request, deadline=deadline(), on_events=EventLog())
    assert result.succeeded, result.error
    assert result.outputs["message"] == "hello from us-east-1"
    assert engine.destroy(ref_of(request), deadline=deadline(), on_events=EventLog()).succeeded
    assert "TF_VAR_greeting" not in engine.runner.environment()
    assert os.environ["TF_VAR_greeting"]  # the portal's own environment is left as it was


@pytest.fixture
def fixture_ctx(portal_env: dict[str, str], terraform_env: None, fixture_templates: Path,
                monkeypatch: pytest.MonkeyPatch) -> PortalContext:
    """The portal on the shared embedded cloud, with the fixture templates as its catalog."""
    monkeypatch.setenv("PORTAL_TEMPLATES_DIR", str(fixture_templates))
    return context_module.get_context()


@pytest.mark.xdist_group("embedded-cloud")
def test_a_terraform_launch_through_the_facade(fixture_ctx: PortalContext) -> None:
    ctx = fixture_ctx
    alice = Actor("alice", Role.STUDENT)
    env = environments.launch(ctx, actor=alice, template_id="terraform-only",
                              parameters={"greeting": "hello facade", "replicas": 1},
                              engine="terraform")
    assert env.status == "ready", env.status_reason
    assert env.engine == "terraform"
    outputs = {output.name: output.value for output in env.outputs}
    assert outputs["message"] == "hello facade from us-east-1"
    assert "token" not in outputs  # sensitive: never in the history
    launch_run = env.runs[0].run_id
    events = environments.run_events(ctx, actor=alice, run_id=launch_run)
    assert {(e.logical_id, e.status) for e in events} >= {
        ("terraform_data.greeting", CREATE_IN_PROGRESS), ("terraform_data.greeting",
                                                          CREATE_COMPLETE),
        ("module.label.terraform_data.label", CREATE_COMPLETE)}
    workdir = ctx.settings.data_dir / "terraform" / env.deployment_name
    assert (workdir / "terraform.tfstate").exists()

    gone = environments.destroy(ctx, actor=alice, env_id=env.env_id)
    assert gone.status == "destroyed", gone.status_reason
    assert not workdir.exists()


def test_a_failing_event_sink_stops_terraform_and_is_raised(
        engine: TerraformEngine, deployment: Callable[..., DeploymentRequest]) -> None:
    request = deployment("sbx-sink", delay_seconds=93)

    def broken(events: list[ResourceEvent]) -> None:
        if any(e.logical_id == "terraform_data.slow" for e in events):
            raise RuntimeError("the history database went away")

    with pytest.raises(RuntimeError, match="went away"):
        engine.apply(request, deadline=deadline(), on_events=broken)
    assert sleeping(93) == [], "Terraform went on without anybody reading it"
    # Stopped as at a deadline: what was made is in the state, for the clean-up to destroy.
    assert "terraform_data.greeting" in {r.logical_id for r in engine.resources(ref_of(request))}
    assert engine.destroy(ref_of(request), deadline=deadline(), on_events=EventLog()).succeeded


def test_an_apply_after_a_dead_worker_waits_for_its_terraform_and_makes_nothing_twice(
        engine: TerraformEngine, deployment: Callable[..., DeploymentRequest]) -> None:
    # What a worker that died mid-apply leaves: the deployment's directory, rendered as the
    # engine renders it, and its Terraform still applying (it writes to a file, not to the dead
    # worker, so it goes on), holding the state lock.
    request = deployment("sbx-orphan", delay_seconds=3)
    workdir = engine.root / request.deployment_name
    files = terraform_files(request.manifest, request.values, region=request.region,
                            tags=request.tags)
    for relative, text in {**files, **engine.generated_files(request.manifest,
                                                              request.deployment_name)}.items():
        (workdir / relative).parent.mkdir(parents=True, exist_ok=True)
        (workdir / relative).write_text(text)
    terraform = [*engine.runner.command()]
    environment = engine.runner.environment()
    subprocess.run([*terraform, "init", "-input=false"], cwd=workdir, env=environment,
                   capture_output=True, check=True)
    orphan = subprocess.Popen([*terraform, "apply", "-auto-approve", "-input=false"],
                              cwd=workdir, env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        lock_info = workdir / ".terraform.tfstate.lock.info"
        waited_until = time.monotonic() + 60
        while not lock_info.exists():  # written while Terraform holds the state's lock
            assert time.monotonic() < waited_until and orphan.poll() is None
            time.sleep(0.02)
        log = EventLog()
        result = engine.apply(request, deadline=deadline(), on_events=log)
        assert orphan.poll() == 0, "the second apply did not wait for the first"
    finally:
        orphan.wait()
    assert result.succeeded, result.error
    assert log.events == []
    assert {r.logical_id for r in engine.resources(ref_of(request))} == ADDRESSES
    assert engine.destroy(ref_of(request), deadline=deadline(), on_events=EventLog()).succeeded
