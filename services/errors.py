"""The portal's own errors. The UI and the CLI catch `PortalError` and show its message."""

from __future__ import annotations

from services.i18n import _


class PortalError(Exception):
    """Base of every error the portal reports to a user."""


class ValidationError(PortalError):
    """One or more parameters are invalid; `field_errors` maps each field to its message."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        self.field_errors = dict(field_errors)
        summary = "; ".join(f"{name}: {message}" for name, message in self.field_errors.items())
        super().__init__(_("invalid parameters: {summary}").format(summary=summary))


class UnknownTemplateError(PortalError):
    def __init__(self, template_id: str, known: list[str]) -> None:
        self.template_id = template_id
        super().__init__(_("template: unknown template {template_id!r} (known: {known})").format(
            template_id=template_id, known=", ".join(known)))


class EnvironmentNotFoundError(PortalError):
    def __init__(self, env_id: str) -> None:
        self.env_id = env_id
        super().__init__(_("environment: no environment {env_id!r} visible to you").format(
            env_id=env_id))


class PermissionDeniedError(PortalError):
    pass


class InvalidStateError(PortalError):
    pass


class CloudError(PortalError):
    """A call to the cloud failed; `reason` is AWS's own code and message in one line (see
    services/clouds/aws_calls.py, which raises it at the boundary)."""

    def __init__(self, *, operation: str, reason: str) -> None:
        self.operation = operation
        self.reason = reason
        super().__init__(_("{operation} failed: {reason}").format(operation=operation,
                                                                  reason=reason))


class EngineUnavailableError(PortalError):
    """The engine asked for cannot deploy here now; the message says how to make it able to."""

    def __init__(self, engine: str, reason: str) -> None:
        self.engine = engine
        self.reason = reason
        super().__init__(_("engine: {engine} is not available here: {reason}").format(
            engine=engine, reason=reason))


class EmbeddedCloudError(PortalError):
    """The embedded emulator could not be started or reached."""


class EmbeddedCloudNotAnsweringError(EmbeddedCloudError):
    """The emulator's process exists but does not answer: stopped (SIGSTOP), swapped out or
    overloaded. Not dead, so nothing it holds is lost and no second emulator may start beside it;
    `waited_s` is how long the portal waited (None: one quick probe)."""

    def __init__(self, *, pid: int, waited_s: float | None, stopped: bool = False) -> None:
        self.pid = pid
        self.waited_s = waited_s
        self.stopped = stopped
        if waited_s is not None:
            first = _("the embedded cloud (pid {pid}) does not answer within {waited_s:g} s; it "
                      "may be stopped (SIGSTOP) or overloaded").format(pid=pid, waited_s=waited_s)
        else:
            first = _("the embedded cloud (pid {pid}) does not answer; it may be stopped "
                      "(SIGSTOP) or overloaded").format(pid=pid)
        seen = (" " + _("(its process is stopped: `kill -CONT {pid}` resumes it)").format(pid=pid)
                if stopped else "")
        super().__init__(
            first + seen + ". " + _("Nothing in it is lost: try again in a moment. `sandbox "
                                    "cloud stop` ends it, and with it every environment it "
                                    "holds"))


class LaunchBlockedError(PortalError):
    """The advisor found errors: launching would create something unsafe. Carries the findings."""

    def __init__(self, findings: list) -> None:  # list[advisor.Finding]; no import cycle
        self.findings = list(findings)
        first = self.findings[0]
        fields = {"rule_id": first.rule_id, "resource": first.resource or "",
                  "message": first.message, "fix": first.fix}
        if len(self.findings) > 1:
            text = _("launch blocked by the advisor: {rule_id} {resource}: {message} Fix: {fix} "
                     "(and {more} more)").format(more=len(self.findings) - 1, **fields)
        else:
            text = _("launch blocked by the advisor: {rule_id} {resource}: {message} "
                     "Fix: {fix}").format(**fields)
        super().__init__(text)


class TargetUnavailableError(PortalError):
    """The cloud target cannot be used now (no credentials, nothing listening, not installed):
    `reason` says why in plain words, `fix` what makes it usable."""

    def __init__(self, *, target: str, reason: str, fix: str | None = None) -> None:
        self.target = target
        self.reason = reason
        self.fix = fix
        if fix:
            text = _("cloud: {target} is not usable: {reason}. Fix: {fix}").format(
                target=target, reason=reason, fix=fix)
        else:
            text = _("cloud: {target} is not usable: {reason}.").format(target=target,
                                                                        reason=reason)
        super().__init__(text)
