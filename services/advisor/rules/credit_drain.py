"""Burstable instances whose expected CPU is above their baseline: they run out of CPU credits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from services.advisor.launches import Launch, launches
from services.advisor.model import AdvisorSubject, Finding, Rule, Severity, Source
from services.advisor.values import number_text
from services.burstable import (
    BurstableSpec,
    CreditMode,
    burstable_spec,
    first_throttled,
    project_balance,
)

PROJECTION_HOURS = 24
# Unlimited mode bills surplus only once it exceeds a day's earnings; two days show the steady rate.
UNLIMITED_PROJECTION_HOURS = 48


@dataclass(frozen=True)
class Agent:
    name: str
    vcpu_percent: float
    """Assumed average use, in percent of one vCPU."""
    installed: re.Pattern[str]
    """Matches user data that installs or starts it."""
    preinstalled_on: re.Pattern[str] | None = None
    """Matches an image source (SSM path, AMI filter) whose images ship with it."""


# Assumed steady-state overheads, in percent of ONE vCPU (agents are mostly single-threaded, so
# their share of an instance shrinks with its vCPU count). They are chosen to reproduce what the
# seed project measured, not measured here: the SSM, CloudWatch and CodeDeploy agents together
# kept a t3.micro (2 vCPUs) above its 10% baseline - 22% of a vCPU is 11% of the instance.
# The CodeDeploy agent (Ruby, polling every few seconds) weighs the most.
AGENTS: tuple[Agent, ...] = (
    Agent("SSM", 4.0, re.compile(r"amazon-ssm-agent", re.I),
          re.compile(r"amazon-linux|amzn|al2023|al2-ami|ubuntu|canonical|windows", re.I)),
    Agent("CloudWatch", 6.0, re.compile(r"amazon-cloudwatch-agent|cloudwatch-agent", re.I)),
    Agent("CodeDeploy", 12.0, re.compile(r"codedeploy-agent|aws-codedeploy", re.I)),
)


def agents_on(launch: Launch) -> list[Agent]:
    text = launch.user_data or ""
    return [agent for agent in AGENTS
            if agent.installed.search(text) or
            (agent.preinstalled_on is not None and agent.preinstalled_on.search(launch.image))]


def _names(agents: list[Agent]) -> str:
    names = [a.name for a in agents]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"the {joined} agent" + ("s" if len(names) > 1 else "")


def _hours(hours: float) -> str:
    if hours == 0:
        return "from the first minute"
    if hours < 1:
        return f"within the first hour (after {hours * 60:.0f} min)"
    return f"after {hours:.1f} h"


class BurstableCreditDrain(Rule):
    """A T2/T3/T3a/T4g instance whose expected CPU stays above its baseline spends more CPU
    credits than it earns. In standard mode it is then held at the baseline: the seed project's
    t3.micro fell from 99% to 10% again and again, failed its health checks, and the Auto Scaling
    group kept replacing it. In unlimited mode it keeps its speed and the surplus is billed.

    Expected CPU: with a target-tracking policy on ASGAverageCPUUtilization the group adds
    instances until their average is at the target, so the target is the expected utilization
    (the agents' share is inside that average, not on top of it). Without one, only the agents
    found in the user data (or preinstalled on the image) are counted: application load comes
    on top, so the warning is, if anything, late. The balance is projected with
    services.burstable from a fresh launch (T2 standard: 30 launch credits per vCPU; others 0)."""

    id = "ADV001"
    title = "Burstable instance will run out of CPU credits"
    severity = Severity.WARNING
    fix = ("Size for the workload: pick a type whose baseline covers the expected CPU (t3.small "
           "20%, t3.large 30%, t3.xlarge 40%) or a non-burstable type (m6i, c6i) for steady load; "
           "or keep the target below the baseline; or use unlimited mode and budget for its "
           "surplus charges.")

    def _check(self, subject: AdvisorSubject, source: Source) -> Iterator[Finding]:
        for launch in launches(subject, source):
            if not isinstance(launch.instance_type, str):
                continue
            spec = burstable_spec(launch.instance_type)
            if spec is None:
                continue
            agents = agents_on(launch)
            agents_cpu = sum(a.vcpu_percent for a in agents) / spec.vcpus
            if launch.cpu_target is not None:
                expected = min(max(launch.cpu_target, agents_cpu), 100.0)
            else:
                expected = min(agents_cpu, 100.0)
            if expected <= spec.baseline_percent:
                continue
            set_mode = launch.credit_mode.lower() if isinstance(launch.credit_mode, str) else ""
            explicit = set_mode in ("standard", "unlimited")
            mode = CreditMode(set_mode) if explicit else spec.default_mode
            message = self._message(launch, spec, mode, explicit=explicit, expected=expected,
                                    agents=agents, agents_cpu=agents_cpu)
            yield self.finding(message, resource=launch.resource, source=source)

    def _message(self, launch: Launch, spec: BurstableSpec, mode: CreditMode, *,
                 explicit: bool, expected: float, agents: list[Agent], agents_cpu: float) -> str:
        where = launch.resource if launch.template is None else \
            f"{launch.resource} (launch template {launch.template})"
        set_by = "" if explicit else f", the {spec.family} default"
        head = (f"{where}: {spec.instance_type} in {mode.value} credit mode{set_by}, baseline "
                f"{number_text(spec.baseline_percent)}% per vCPU (earns "
                f"{number_text(spec.credits_per_hour)} credits/h, {spec.vcpus} vCPU"
                f"{'s' if spec.vcpus > 1 else ''}).")
        agents_text = f"{_names(agents)} ~{number_text(agents_cpu)}%" if agents else "no agents"
        if launch.cpu_target is not None:
            why = (f"Expected CPU {number_text(expected)}%: target tracking holds the group's "
                   f"average at {number_text(launch.cpu_target)}% ({agents_text}, assumed, "
                   f"counted inside it).")
        else:
            why = (f"Expected CPU {number_text(expected)}% from {agents_text} alone (assumed "
                   f"averages), before any application load.")
        net = spec.net_credits_per_hour(expected)
        net_text = f"{'−' if net < 0 else '+'}{number_text(abs(round(net, 1)))} credits/h"
        if mode is CreditMode.STANDARD:
            projection = project_balance(spec, expected, hours=PROJECTION_HOURS, mode=mode)
            start = (f"its {number_text(spec.launch_credits)} launch credits"
                     if spec.launch_credits else "a balance of 0")
            throttled_at = first_throttled(projection)
            if throttled_at is None:
                outcome = (f"from {start}, the balance after {PROJECTION_HOURS} h is "
                           f"{number_text(round(projection[-1].balance, 1))} credits")
            else:
                outcome = (f"from {start}, throttled to {number_text(spec.baseline_percent)}% "
                           f"{_hours(throttled_at)}; balance after {PROJECTION_HOURS} h: "
                           f"{number_text(round(projection[-1].balance, 1))} credits")
            return f"{head} {why} Net {net_text}; {outcome}."
        projection = project_balance(spec, expected, hours=UNLIMITED_PROJECTION_HOURS, mode=mode)
        charged_from = next((h.hour for h in projection if h.surplus_charged > 0), None)
        last = projection[-1]
        per_hour = last.surplus_charged / 60 * spec.surplus_usd_per_vcpu_hour
        if charged_from is None:
            outcome = (f"never throttled; surplus after {UNLIMITED_PROJECTION_HOURS} h: "
                       f"{number_text(round(last.surplus_balance, 1))} credits, not yet billed")
        else:
            outcome = (f"never throttled, but surplus credits are billed from hour "
                       f"{charged_from + 1}: about ${per_hour:.3f}/h (${per_hour * 24:.2f}/day) "
                       f"per instance at ${spec.surplus_usd_per_vcpu_hour:.2f} per vCPU-hour")
        return f"{head} {why} Net {net_text}; {outcome}."

    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "cloudformation")

    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "terraform")
