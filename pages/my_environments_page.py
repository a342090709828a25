"""My environments (instructors: everyone's): status, outputs, runs, and Destroy; for a student
also what their own environments cost and how healthy they are, in the charts the instructor's
Class cost and Class health pages draw for the whole class."""

from __future__ import annotations

import streamlit as st

from portal import identity
from portal.components.cost_charts import cost_metrics, cost_panel
from portal.components.dashboard_filters import dashboard_filters
from portal.components.health_charts import health_panel
from portal.components.environment_card import STATUS_ICONS, environment_card, status_label
from portal.components.environments_table import PAGE_SIZE, environments_table, paged
from portal.components.lease_controls import lease_banner, lease_controls
from portal.components.live import live_section
from portal.components.text import md_escape
from portal.ui_context import portal_context, portal_errors, reconcile_history
from services import budget_service, cost_meter, dispatch, environment_service
from services.environment_service import EnvironmentView, EventView
from services.history.models import EnvironmentStatus
from services.i18n import _, ngettext

# Current environments shown as whole cards at the top of the list.
WHOLE_CARDS = 3

actor = identity.require_actor()
ctx = portal_context()

st.title(_("All environments") if actor.is_instructor else _("My environments"))
with portal_errors():
    # Cheap, and how a student learns that a stopped emulator took their environment with it.
    reconcile_history(ctx)
    titles = {t.id: t.title for t in ctx.catalog.all_templates()}
    budgets = [] if actor.is_instructor else budget_service.budget_status(ctx, actor=actor)
for budget in budgets:
    if budget.warning:
        message = (_("Course **{course}**: {warning} Your running environments are destroyed "
                     "when you reach it.") if budget.stops_at_budget else
                   _("Course **{course}**: {warning} Your instructor is told when you reach it."))
        st.warning(message.format(course=budget.course, warning=budget.warning),
                   icon=":material/savings:")


def load_events(run_id: int) -> list[EventView]:
    with portal_errors():
        return environment_service.run_events(ctx, actor=actor, run_id=run_id)


def card(env: EnvironmentView, *, collapsed: bool = False) -> None:
    """The environment's card; `collapsed`, its summary line, the card drawn once opened."""
    if not collapsed:
        full_card(env)
        return
    title = titles.get(env.template_id, env.template_id)
    label = (_("{title} · {env_id} · {owner} · {status}") if actor.is_instructor
             else _("{title} · {env_id} · {status}")).format(
        title=md_escape(title), env_id=env.env_id, owner=md_escape(env.owner),
        status=status_label(env.status))
    with st.expander(label, key=f"my_environments.card.{env.env_id}", on_change="rerun",
                     icon=STATUS_ICONS.get(env.status)) as section:
        if section.open:
            full_card(env)


def full_card(env: EnvironmentView) -> None:
    confirmed = environment_card(env, title=titles.get(env.template_id, env.template_id),
                                 show_owner=actor.is_instructor, load_events=load_events,
                                 show_detail=actor.is_instructor)
    if confirmed:
        with portal_errors():
            started = environment_service.start_destroy(ctx, actor=actor, env_id=env.env_id)
        dispatch.submit_destroy(ctx, started.run_id)
        # Redraw the whole page: the destroy is under way and the list must start refreshing.
        st.rerun()
    if env.status in environment_service.EXTENDABLE and env.expires_at is not None:
        extend_by, end_now = lease_controls(env, can_end=actor.teaches(env.course),
                                            max_hours=ctx.settings.max_lease_hours)
        if extend_by:
            with portal_errors():
                environment_service.extend_lease(ctx, actor=actor, env_id=env.env_id,
                                                 hours=extend_by)
            st.rerun()
        if end_now:
            with portal_errors():
                started = environment_service.end_lease(ctx, actor=actor, env_id=env.env_id)
            dispatch.submit_destroy(ctx, started.run_id)
            st.rerun()


def environments() -> bool:
    with portal_errors():
        envs = environment_service.list_environments(ctx, actor=actor)
    if not envs:
        st.info(_("No environments yet. Pick a template in the Catalog and launch it."),
                icon=":material/info:")
        return False
    lease_banner(envs)
    # A class's hundreds of environments are all in the table; their cards come a page at a
    # time, or only for the rows picked in the table.
    picked = environments_table(envs, show_owner=actor.is_instructor, key="my_environments")
    if picked:
        chosen = [e for e in envs if e.env_id in picked]
        st.caption(ngettext("The environment selected in the table:",
                            "The {count} environments selected in the table:",
                            len(chosen)).format(count=len(chosen)))
        for env in paged(chosen, key="my_environments.picked"):
            card(env)
        return any(env.in_progress for env in envs)
    destroyed = [e for e in envs if e.status == EnvironmentStatus.DESTROYED.value]
    current = [e for e in envs if e.status != EnvironmentStatus.DESTROYED.value]
    # The newest few are shown whole; the others as summary lines, each card drawn once opened:
    # a whole card is a dozen elements for the browser to mount on every visit (seven cost a
    # student's page more than a bare page takes), and a class's list of them hundreds. An
    # instructor's class-sized list is all summary lines. The rows picked in the table are
    # shown whole.
    whole = 0 if len(current) > PAGE_SIZE else WHOLE_CARDS
    for index, env in enumerate(paged(current, key="my_environments.current")):
        card(env, collapsed=index >= whole)
    if destroyed:
        # Lazy: the cards of destroyed environments are drawn only once this is opened.
        with st.expander(_("Destroyed ({count})").format(count=len(destroyed)),
                         key="my_environments.destroyed", on_change="rerun",
                         icon=":material/delete:") as section:
            if section.open:
                for env in paged(destroyed, key="my_environments.destroyed"):
                    card(env, collapsed=len(destroyed) > PAGE_SIZE)
    return any(env.in_progress for env in envs)


if actor.is_instructor:
    live_section(environments, key="my_environments")
else:
    # Lazy: only the open tab is drawn (the Cost and Health charts are the page's heaviest part,
    # and the environments need not refresh while another tab is shown). The open tab is the
    # `my_environments.tab` key.
    listed, cost_tab, health_tab = st.tabs([_("Environments"), _("Cost"), _("Health")],
                                           key="my_environments.tab", on_change="rerun")
    if listed.open:
        with listed:
            live_section(environments, key="my_environments")
    if cost_tab.open:
        with cost_tab, portal_errors():
            chosen = dashboard_filters(ctx, actor, key="my_cost")
            cost = cost_meter.class_cost(ctx, actor=actor, filter=chosen)
            cost_metrics(cost)
            cost_panel(cost, key="my_cost")
    if health_tab.open:
        with health_tab, portal_errors():
            chosen = dashboard_filters(ctx, actor, key="my_health")
            if not health_panel(ctx, actor, chosen, key="my_health"):
                st.info(_("No metrics yet for your environments in this window: they are "
                          "collected every few minutes while an environment runs."),
                        icon=":material/info:")
