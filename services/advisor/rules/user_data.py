"""User data that changes without the instances that run it being replaced."""

from __future__ import annotations

from collections.abc import Iterator

from services.advisor.launches import Launch, launches
from services.advisor.model import AdvisorSubject, Finding, Rule, Severity, Source
from services.i18n import N_, _


class UserDataChangeKeepsInstances(Rule):
    """User data runs once, on an instance's first boot (cloud-init's per-instance scripts). A
    change that does not replace the instance therefore changes nothing on it, silently:

    - Terraform `aws_instance`: without `user_data_replace_on_change = true` a new script is an
      in-place update (stop, new attribute, start); the seed lab's lesson was to keep instances
      immutable with that flag.
    - Terraform `aws_autoscaling_group`: a new launch template version reaches only instances
      launched later, unless an `instance_refresh` block rolls the group.
    - CloudFormation `AWS::AutoScaling::AutoScalingGroup`: the same, unless an UpdatePolicy
      (AutoScalingRollingUpdate or AutoScalingReplacingUpdate) replaces the instances.
    - CloudFormation `AWS::EC2::Instance`: CloudFormation updates UserData by stopping and
      starting the same instance, and offers no switch to replace it instead; this is noted as
      information, since the template cannot fix it by a property."""

    id = "ADV005"
    title = N_("User data changes without replacing the instances")
    severity = Severity.WARNING
    fix = N_("Make a change of user data replace the instances: user_data_replace_on_change = "
             "true on aws_instance, an instance_refresh block on aws_autoscaling_group, an "
             "UpdatePolicy with AutoScalingRollingUpdate on a CloudFormation Auto Scaling group. "
             "For a single CloudFormation instance, replace it by renaming its logical id, or "
             "re-run the script yourself.")

    def _message(self, launch: Launch) -> tuple[str, Severity]:
        if launch.kind == "instance" and launch.source == "terraform":
            return (_("{resource} has user_data but not user_data_replace_on_change = true: a "
                      "changed script is applied by stopping and starting the same instance, and "
                      "cloud-init does not run it again, so the server keeps its old "
                      "setup.").format(resource=launch.resource), Severity.WARNING)
        if launch.kind == "instance":
            return (_("{resource} has UserData: CloudFormation applies a change to it by "
                      "stopping and starting the same instance, and user data runs only on the "
                      "first boot, so the new script does not run.").format(
                          resource=launch.resource), Severity.INFO)
        if launch.source == "terraform":
            message = _("{resource} launches from {template}, which has user data, and has no "
                        "instance_refresh block: a new launch template version reaches only "
                        "instances launched later; the running ones keep the old script until "
                        "something replaces them.")
        else:
            message = _("{resource} launches from {template}, which has user data, and has no "
                        "UpdatePolicy (AutoScalingRollingUpdate or AutoScalingReplacingUpdate): "
                        "a new launch template version reaches only instances launched later; "
                        "the running ones keep the old script until something replaces them.")
        return (message.format(resource=launch.resource, template=launch.template),
                Severity.WARNING)

    def _check(self, subject: AdvisorSubject, source: Source) -> Iterator[Finding]:
        for launch in launches(subject, source):
            if not launch.has_user_data or launch.replaces_on_change:
                continue
            message, severity = self._message(launch)
            yield self.finding(message, resource=launch.resource, source=source,
                               severity=severity)

    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "cloudformation")

    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "terraform")
