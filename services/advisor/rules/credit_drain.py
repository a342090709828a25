"""Burstable instances whose expected CPU is above their baseline: they run out of CPU credits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

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
from services.i18n import N_, _, format_money, ngettext

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
    """"the SSM agent", "the SSM, CloudWatch and CodeDeploy agents", in the current language."""
    names = [a.name for a in agents]
    joined = names[0] if len(names) == 1 else \
        _("{items} and {last}").format(items=", ".join(names[:-1]), last=names[-1])
    return ngettext("the {names} agent", "the {names} agents", len(names)).format(names=joined)


def _hours(hours: float) -> str:
    if hours == 0:
        return _("from the first minute")
    if hours < 1:
        return _("within the first hour (after {minutes} min)").format(
            minutes=f"{hours * 60:.0f}")
    return _("after {hours} h").format(hours=f"{hours:.1f}")


def _money(amount: float, decimals: int) -> str:
    """Dollars rounded as f"{amount:.{decimals}f}" rounds them, written the current language's
    way ($0.050 in English)."""
    return format_money(Decimal(f"{amount:.{decimals}f}"), decimals=decimals)


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
    title = N_("Burstable instance will run out of CPU credits")
    severity = Severity.WARNING
    fix = N_("Size for the workload: pick a type whose baseline covers the expected CPU "
             "(t3.small 20%, t3.large 30%, t3.xlarge 40%) or a non-burstable type (m6i, c6i) for "
             "steady load; or keep the target below the baseline; or use unlimited mode and "
             "budget for its surplus charges.")

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
        """Three sentences, each whole in the catalog: the instance, the expected CPU, and
        where the credit balance goes."""
        return " ".join((self._head(launch, spec, mode, explicit=explicit),
                         self._why(launch, expected=expected, agents=agents,
                                   agents_cpu=agents_cpu),
                         self._outcome(spec, mode, expected=expected)))

    @staticmethod
    def _head(launch: Launch, spec: BurstableSpec, mode: CreditMode, *, explicit: bool) -> str:
        where = launch.resource if launch.template is None else \
            _("{resource} (launch template {template})").format(
                resource=launch.resource, template=launch.template)
        vcpus = spec.vcpus
        if mode is CreditMode.STANDARD and explicit:
            head = ngettext(
                "{where}: {instance_type} in standard credit mode, baseline {baseline}% per vCPU "
                "(earns {credits} credits/h, {vcpus} vCPU).",
                "{where}: {instance_type} in standard credit mode, baseline {baseline}% per vCPU "
                "(earns {credits} credits/h, {vcpus} vCPUs).", vcpus)
        elif mode is CreditMode.STANDARD:
            # Translators: {family} is the instance family (t2, t3), whose default mode this is.
            head = ngettext(
                "{where}: {instance_type} in standard credit mode, the {family} default, "
                "baseline {baseline}% per vCPU (earns {credits} credits/h, {vcpus} vCPU).",
                "{where}: {instance_type} in standard credit mode, the {family} default, "
                "baseline {baseline}% per vCPU (earns {credits} credits/h, {vcpus} vCPUs).", vcpus)
        elif explicit:
            head = ngettext(
                "{where}: {instance_type} in unlimited credit mode, baseline {baseline}% per vCPU "
                "(earns {credits} credits/h, {vcpus} vCPU).",
                "{where}: {instance_type} in unlimited credit mode, baseline {baseline}% per vCPU "
                "(earns {credits} credits/h, {vcpus} vCPUs).", vcpus)
        else:
            head = ngettext(
                "{where}: {instance_type} in unlimited credit mode, the {family} default, "
                "baseline {baseline}% per vCPU (earns {credits} credits/h, {vcpus} vCPU).",
                "{where}: {instance_type} in unlimited credit mode, the {family} default, "
                "baseline {baseline}% per vCPU (earns {credits} credits/h, {vcpus} vCPUs).", vcpus)
        return head.format(where=where, instance_type=spec.instance_type, family=spec.family,
                           baseline=number_text(spec.baseline_percent),
                           credits=number_text(spec.credits_per_hour), vcpus=vcpus)

    @staticmethod
    def _why(launch: Launch, *, expected: float, agents: list[Agent], agents_cpu: float) -> str:
        fields = {"agents": _names(agents) if agents else "",
                  "agents_cpu": number_text(agents_cpu)}
        if launch.cpu_target is not None:
            if agents:
                # Translators: {agents} is "the SSM and CloudWatch agents"; ~ means about.
                why = _("Expected CPU {expected}%: target tracking holds the group's average at "
                        "{target}% ({agents} ~{agents_cpu}%, assumed, counted inside it).")
            else:
                why = _("Expected CPU {expected}%: target tracking holds the group's average at "
                        "{target}% (no agents, assumed, counted inside it).")
            return why.format(expected=number_text(expected),
                              target=number_text(launch.cpu_target), **fields)
        if agents:
            # Translators: {expected} is a percentage with its sign, such as 11% (the sign is in
            # the value: "% from" would read as a printf conversion to gettext's tools).
            why = _("Expected CPU {expected} from {agents} ~{agents_cpu}% alone (assumed "
                    "averages), before any application load.")
        else:
            # Translators: {expected} is a percentage with its sign, such as 11%.
            why = _("Expected CPU {expected} from no agents alone (assumed averages), before "
                    "any application load.")
        return why.format(expected=f"{number_text(expected)}%", **fields)

    @staticmethod
    def _outcome(spec: BurstableSpec, mode: CreditMode, *, expected: float) -> str:
        net = spec.net_credits_per_hour(expected)
        net_text = f"{'−' if net < 0 else '+'}{number_text(abs(round(net, 1)))}"
        if mode is CreditMode.STANDARD:
            projection = project_balance(spec, expected, hours=PROJECTION_HOURS, mode=mode)
            throttled_at = first_throttled(projection)
            fields = {"net": net_text, "launch_credits": number_text(spec.launch_credits),
                      "hours": PROJECTION_HOURS, "baseline": number_text(spec.baseline_percent),
                      "balance": number_text(round(projection[-1].balance, 1))}
            if throttled_at is None and spec.launch_credits:
                # Translators: {net} is the hourly change of the balance with its sign (−1.2).
                outcome = _("Net {net} credits/h; from its {launch_credits} launch credits, the "
                            "balance after {hours} h is {balance} credits.")
            elif throttled_at is None:
                outcome = _("Net {net} credits/h; from a balance of 0, the balance after {hours} "
                            "h is {balance} credits.")
            elif spec.launch_credits:
                # Translators: {when} is "from the first minute", "after 5.2 h", ...
                outcome = _("Net {net} credits/h; from its {launch_credits} launch credits, "
                            "throttled to {baseline}% {when}; balance after {hours} h: "
                            "{balance} credits.")
            else:
                outcome = _("Net {net} credits/h; from a balance of 0, throttled to {baseline}% "
                            "{when}; balance after {hours} h: {balance} credits.")
            when = _hours(throttled_at) if throttled_at is not None else ""
            return outcome.format(when=when, **fields)
        projection = project_balance(spec, expected, hours=UNLIMITED_PROJECTION_HOURS, mode=mode)
        charged_from = next((h.hour for h in projection if h.surplus_charged > 0), None)
        last = projection[-1]
        per_hour = last.surplus_charged / 60 * spec.surplus_usd_per_vcpu_hour
        if charged_from is None:
            return _("Net {net} credits/h; never throttled; surplus after {hours} h: {surplus} "
                     "credits, not yet billed.").format(
                         net=net_text, hours=UNLIMITED_PROJECTION_HOURS,
                         surplus=number_text(round(last.surplus_balance, 1)))
        # Translators: {per_hour}, {per_day} and {rate} are amounts in US dollars.
        return _("Net {net} credits/h; never throttled, but surplus credits are billed from hour "
                 "{hour}: about {per_hour}/h ({per_day}/day) per instance at {rate} per "
                 "vCPU-hour.").format(
                     net=net_text, hour=charged_from + 1, per_hour=_money(per_hour, 3),
                     per_day=_money(per_hour * 24, 2),
                     rate=_money(spec.surplus_usd_per_vcpu_hour, 2))

    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "cloudformation")

    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        return self._check(subject, "terraform")
