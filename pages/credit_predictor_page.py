"""Credit predictor: a burstable instance's CPU credit balance over the coming hours under a
workload, when its CPU is held at the baseline, and what unlimited mode would charge instead.
It opens on the worked example `SEED_EXAMPLE`: a t3.micro that its agents keep at the baseline."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from portal import identity
from portal.components.credit_chart import credit_chart, predicted_credits
from portal.components.text import md_escape
from portal.ui_context import portal_errors
from services.burstable import CreditMode
from services.credit_predictor import (
    DEFAULT_HOURS,
    INSTANCE_TYPES,
    MAX_HOURS,
    SEED_EXAMPLE,
)
from services.i18n import N_, _, format_money, format_number, format_percent
from services.workload.profiles import (
    AGENT_OVERHEAD_PERCENT,
    DEFAULT_CLASS_SLOTS,
    ProfileKind,
    WorkloadProfile,
)

KEY = "credit_predictor_page"
TYPE_KEY = f"{KEY}.instance_type"
MODE_KEY = f"{KEY}.mode"
WORKLOAD_KEY = f"{KEY}.workload"
APP_CPU_KEY = f"{KEY}.app_cpu"
PEAK_CPU_KEY = f"{KEY}.peak_cpu"
OFF_PEAK_CPU_KEY = f"{KEY}.off_peak_cpu"
START_KEY = f"{KEY}.start"
AGENTS_KEY = f"{KEY}.agents"
BALANCE_KEY = f"{KEY}.start_balance"
HOURS_KEY = f"{KEY}.hours"
EXAMPLE_KEY = f"{KEY}.example"
HOUR_BY_HOUR_KEY = f"{KEY}.hour_by_hour"
# The section of the less used settings (start, agents, start balance, hours): True while open.
MORE_KEY = f"{KEY}.more"

WORKLOADS = {ProfileKind.IDLE: N_("Idle"), ProfileKind.STEADY: N_("Steady"),
             ProfileKind.CLASS_HOURS: N_("Class-hour peaks")}
# The credit modes as AWS names them (the values compared below), and as people read them.
MODES = {"standard": N_("standard"), "unlimited": N_("unlimited")}
EXAMPLE = {
    TYPE_KEY: SEED_EXAMPLE.instance_type,
    MODE_KEY: "unlimited" if SEED_EXAMPLE.unlimited else "standard",
    WORKLOAD_KEY: SEED_EXAMPLE.profile.kind,
    APP_CPU_KEY: SEED_EXAMPLE.profile.cpu_percent,
    AGENTS_KEY: SEED_EXAMPLE.profile.agent_overhead_percent,
    BALANCE_KEY: SEED_EXAMPLE.start_balance,
    HOURS_KEY: SEED_EXAMPLE.hours,
}
# Only shown for class-hour peaks: a busy lab session and a quiet app between sessions.
OTHER_DEFAULTS = {PEAK_CPU_KEY: 60.0, OFF_PEAK_CPU_KEY: 2.0,
                  START_KEY: datetime.now(UTC).replace(minute=0, second=0, microsecond=0,
                                                       tzinfo=None)}


def _show_example() -> None:
    st.session_state.update(EXAMPLE)


identity.require_actor()
for key, value in {**EXAMPLE, **OTHER_DEFAULTS}.items():
    st.session_state.setdefault(key, value)

st.title(_("Credit predictor"))
st.caption(_("What a burstable instance's CPU credits do under a workload: when the balance "
             "runs out and the CPU is held at the baseline (standard mode), or what the surplus "
             "it borrows costs (unlimited mode). Predicted from AWS's published credit rules; "
             "nothing is launched."))

with st.container(border=True):
    st.markdown(_("**Worked example: {title}.** {lesson}").format(
        title=md_escape(SEED_EXAMPLE.title), lesson=md_escape(SEED_EXAMPLE.lesson)))
    st.caption(md_escape(SEED_EXAMPLE.why_start_balance))
    st.button(_("Show the worked example"), key=EXAMPLE_KEY, on_click=_show_example,
              icon=":material/school:")


def _more_label(workload: str) -> str:
    """The section of the less used settings, named with what they hold now."""
    balance = st.session_state[BALANCE_KEY]
    parts = [_("{hours} h").format(hours=format_number(st.session_state[HOURS_KEY])),
             _("agents {percent}%").format(percent=format_number(st.session_state[AGENTS_KEY])),
             _("a new instance") if balance is None
             else _("{credits} credits at the start").format(credits=format_number(balance))]
    if workload == ProfileKind.CLASS_HOURS:
        parts.insert(0, _("from {start} UTC").format(
            start=st.session_state[START_KEY].strftime("%Y-%m-%d %H:%M")))
    return _("More settings: {settings}").format(settings=", ".join(parts))


def _more_settings(workload: str) -> tuple[datetime | None, float, float | None, int]:
    """The start (class hours only), the agents' CPU, the start balance and the hours."""
    start = None
    if workload == ProfileKind.CLASS_HOURS:
        start = st.datetime_input(
            _("Start (UTC)"), key=START_KEY, persist_state="session",
            help=_("Class hours: {slots} UTC.").format(
                slots=", ".join(slot.describe() for slot in DEFAULT_CLASS_SLOTS)))
    agents = st.number_input(
        _("Agents' CPU (%)"), min_value=0.0, max_value=100.0, step=1.0, key=AGENTS_KEY,
        persist_state="session",
        help=_("The SSM, CloudWatch and CodeDeploy agents, always running: about {percent} "
               "of a t3.micro. 0 for an instance without them.").format(
                   percent=format_percent(AGENT_OVERHEAD_PERCENT / 100,
                                          decimals=0 if AGENT_OVERHEAD_PERCENT.is_integer()
                                          else 1)))
    start_balance = st.number_input(
        _("Start balance (credits)"), min_value=0.0, value=None, step=10.0, key=BALANCE_KEY,
        placeholder=_("a new instance"), persist_state="session",
        help=_("The CPUCreditBalance of a running instance. Leave it empty for a new one: a "
               "t2 in standard mode starts with 30 launch credits per vCPU, every other "
               "instance with 0."))
    hours = st.number_input(_("Hours"), min_value=1, max_value=MAX_HOURS, step=1,
                            key=HOURS_KEY, persist_state="session",
                            help=_("How far to look ahead, {hours} by default.").format(
                                hours=DEFAULT_HOURS))
    return start, agents, start_balance, hours


@st.fragment
def predictor() -> None:
    """The form and what it predicts: a fragment, so that changing an input redraws these alone,
    not the worked example above them."""
    form_col, result_col = st.columns([1, 2], gap="large")
    with form_col:
        instance_type = st.selectbox(
            _("Instance type"), INSTANCE_TYPES, key=TYPE_KEY, persist_state="session",
            help=_("Only burstable types (t2, t3, t3a, t4g) earn and spend CPU credits."))
        mode = st.radio(
            _("Credit mode"), list(MODES), key=MODE_KEY, horizontal=True,
            format_func=lambda m: _(MODES[m]), persist_state="session",
            help=_("Standard: with no credits left the CPU is held at the baseline. Unlimited: "
                   "it keeps going on surplus credits, charged when they exceed a day's "
                   "earnings. The portal's templates launch burstable types in standard mode."))
        workload = st.radio(_("Workload"), list(WORKLOADS), key=WORKLOAD_KEY, horizontal=True,
                            format_func=lambda k: _(WORKLOADS[k]), persist_state="session")
        if workload == ProfileKind.STEADY:
            app_cpu = st.number_input(
                _("App CPU (%)"), min_value=0.0, max_value=100.0, step=1.0, key=APP_CPU_KEY,
                persist_state="session",
                help=_("CPUUtilization of the app alone, the mean over vCPUs."))
        elif workload == ProfileKind.CLASS_HOURS:
            peak_cpu = st.number_input(_("CPU during class (%)"), min_value=0.0,
                                       max_value=100.0, step=5.0, key=PEAK_CPU_KEY,
                                       persist_state="session")
            off_peak_cpu = st.number_input(_("CPU between classes (%)"), min_value=0.0,
                                           max_value=100.0, step=1.0, key=OFF_PEAK_CPU_KEY,
                                           persist_state="session")
        more = st.expander(_more_label(workload), icon=":material/tune:", key=MORE_KEY,
                           on_change="rerun")
        if more.open:
            with more:
                start, agents, start_balance, hours = _more_settings(workload)
        else:
            # Not drawn: each keeps its value (`persist_state`), set above when never shown.
            start, agents, start_balance, hours = (
                st.session_state[START_KEY] if workload == ProfileKind.CLASS_HOURS else None,
                st.session_state[AGENTS_KEY], st.session_state[BALANCE_KEY],
                st.session_state[HOURS_KEY])

    match workload:
        case ProfileKind.STEADY:
            profile = WorkloadProfile.steady(app_cpu, agents=agents)
        case ProfileKind.CLASS_HOURS:
            profile = WorkloadProfile.class_hours(peak_cpu, off_peak=off_peak_cpu,
                                                  agents=agents)
        case _:
            profile = WorkloadProfile.idle(agents=agents)

    with result_col:
        with portal_errors():
            prediction = predicted_credits(instance_type=instance_type, profile=profile,
                                           hours=int(hours), start_balance=start_balance,
                                           unlimited=mode == "unlimited", start=start)
        throttled, end, extra = st.columns(3)
        throttled.metric(_("Held at the baseline from"),
                         _("never") if prediction.throttled_at_hour is None
                         else _("{hours} h").format(
                             hours=format_number(prediction.throttled_at_hour, decimals=1)))
        end.metric(_("Balance after {hours} h").format(hours=len(prediction.hours)),
                   format_number(prediction.end_balance, decimals=1),
                   help=_("CPUCreditBalance, in credits (one vCPU at {full} for a "
                          "minute).").format(full=format_percent(1)))
        if prediction.mode is CreditMode.UNLIMITED:
            extra.metric(_("Surplus owed at the end"),
                         format_number(prediction.end_surplus, decimals=1),
                         help=_("Charged during the window: {charged}. If the instance stops "
                                "at the end: {unpaid} more.").format(
                                    charged=format_money(prediction.surplus_cost_usd),
                                    unpaid=format_money(prediction.unpaid_surplus_usd)))
        else:
            extra.metric(_("Baseline"), _("{percent}% CPU").format(
                             percent=format_number(prediction.spec.baseline_percent)),
                         help=_("Earns {per_hour} credits an hour, holds at most {most}.").format(
                             per_hour=format_number(prediction.spec.credits_per_hour),
                             most=format_number(prediction.spec.max_earned_credits)))
        if prediction.throttled_at_hour is not None:
            st.warning(md_escape(prediction.summary), icon=":material/speed:")
        elif prediction.end_surplus or prediction.surplus_cost_usd:
            st.info(md_escape(prediction.summary), icon=":material/payments:")
        else:
            st.success(md_escape(prediction.summary), icon=":material/check_circle:")
        credit_chart(prediction, key=f"{KEY}.chart")
        st.caption(_("AWS lowers the CPU gradually as the balance nears zero; this prediction "
                     "holds it at the baseline from the moment the balance reaches zero. Each "
                     "hour shows its mean CPU and the balance at its end."))

    # Drawn when opened: up to a week of hours, a table the browser would mount unseen.
    hour_by_hour = st.expander(_("Hour by hour"), key=HOUR_BY_HOUR_KEY, on_change="rerun")
    if hour_by_hour.open:
        hour_by_hour.dataframe(
            prediction.to_json()["hours"], hide_index=True, width="stretch", key=f"{KEY}.hours",
            column_config={
                "hour": st.column_config.NumberColumn(_("hour"), help=_("Hours after the start")),
                "starts_at": st.column_config.DatetimeColumn(_("starts (UTC)"),
                                                             format="YYYY-MM-DD HH:mm"),
                "demanded_cpu": st.column_config.NumberColumn(_("CPU asked for (%)"),
                                                              format="%.1f"),
                "effective_cpu": st.column_config.NumberColumn(_("CPU it gets (%)"),
                                                               format="%.1f"),
                "earned": st.column_config.NumberColumn(_("earned"), format="%.1f"),
                "spent": st.column_config.NumberColumn(_("spent"), format="%.1f"),
                "balance": st.column_config.NumberColumn(_("balance at the end"),
                                                         format="%.1f"),
                "surplus_balance": st.column_config.NumberColumn(_("surplus owed"),
                                                                 format="%.1f"),
                "throttled": st.column_config.CheckboxColumn(_("held at the baseline")),
            })


predictor()
