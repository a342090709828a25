"""My environments (instructors: all of them): status, outputs, runs, and Destroy."""

from __future__ import annotations

import streamlit as st

from portal import identity
from portal.components.environment_card import IN_PROGRESS, environment_card
from portal.components.environments_table import environments_table
from portal.components.live import live_section
from portal.ui_context import portal_context, portal_errors
from services import environment_service, jobs
from services.reconcile_service import reconcile

actor = identity.require_actor()
ctx = portal_context()

st.title("All environments" if actor.is_instructor else "My environments")
with portal_errors():
    # Cheap, and the only way a student learns that a dead emulator took their environment.
    reconcile(ctx)
    titles = {t.id: t.title for t in ctx.catalog.all_templates()}


def load_events(run_id: int) -> list[environment_service.EventView]:
    with portal_errors():
        return environment_service.run_events(ctx, actor=actor, run_id=run_id)


def environments() -> bool:
    with portal_errors():
        envs = environment_service.list_environments(ctx, actor=actor)
    if not envs:
        st.info("No environments yet. Pick one in the Catalog and launch it.",
                icon=":material/info:")
        return False
    environments_table(envs, show_owner=actor.is_instructor)
    for env in envs:
        confirmed = environment_card(env, title=titles.get(env.template_id, env.template_id),
                                     show_owner=actor.is_instructor, load_events=load_events)
        if confirmed:
            with portal_errors():
                started = environment_service.start_destroy(ctx, actor=actor, env_id=env.env_id)
            jobs.submit(environment_service.run_destroy, ctx, run_id=started.run_id)
            # Redraw everything now: the destroy is under way and the list must start refreshing.
            st.rerun()
    return any(env.status in IN_PROGRESS for env in envs)


live_section(environments, key="my_environments")
