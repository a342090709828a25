"""My environments: each actor sees their own (instructors everyone's) and destroys with care."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from services import environment_service, run_state
from services.history.models import Environment, Run, utcnow

from tests.pages.conftest import ALICE, BOB, TEACHER, open_page, texts, wait_until


def launched(portal, actor, **parameters):  # type: ignore[no-untyped-def]
    env = environment_service.launch(portal, actor=actor, template_id="web-server",
                                     parameters=parameters)
    assert env.status == "ready", env.status_reason
    return env


def launched_and_failed(portal, actor, count: int):  # type: ignore[no-untyped-def]
    """`count` environments launched one after another, each then marked failed: failed ones
    count against no limit and stay on the list."""
    envs = []
    for _ in range(count):
        envs.append(launched(portal, actor))
        with portal.sessions() as session, session.begin():
            session.execute(update(Environment).where(Environment.id == envs[-1].env_id)
                            .values(status="failed", status_reason="test"))
    return envs


def table(at):  # type: ignore[no-untyped-def]
    return at.dataframe[0].value


def test_nothing_launched_yet(app) -> None:
    at = open_page(app(ALICE), "my_environments_page.py")
    assert not at.exception
    assert texts(at.title) == ["My environments"]
    assert any("No environments yet" in i for i in texts(at.info))


def test_shows_the_environment_with_status_outputs_and_runs(app, portal) -> None:
    env = launched(portal, ALICE)
    at = open_page(app(ALICE), "my_environments_page.py")
    assert not at.exception
    rows = table(at)
    assert list(rows["environment"]) == [env.env_id]
    assert list(rows["status"]) == ["ready"]
    assert "owner" not in rows.columns
    markdown = " ".join(texts(at.markdown))
    assert env.outputs_by_name["web_url"] in markdown
    assert env.outputs_by_name["instance_id"] in [c.value for c in at.code]
    run_sections = [e.label for e in at.expander if e.label.startswith("launch")]
    assert run_sections and "succeeded" in run_sections[0]


def test_destroy_asks_for_confirmation_then_destroys(app, portal) -> None:
    env = launched(portal, ALICE)
    at = open_page(app(ALICE), "my_environments_page.py")
    destroy, confirm = (f"environment_card.{env.env_id}.destroy",
                        f"environment_card.{env.env_id}.confirm_destroy")

    at.button(key=destroy).click().run()
    assert at.button(key=confirm).label == f"Confirm destroy {env.env_id}"
    # Nothing happens until the confirmation; Cancel backs out.
    assert environment_service.get_environment(portal, actor=ALICE, env_id=env.env_id).status \
        == "ready"
    at.button(key=f"environment_card.{env.env_id}.cancel_destroy").click().run()
    assert not [b for b in at.button if b.key == confirm]

    at.button(key=destroy).click().run()
    at.button(key=confirm).click().run()
    assert not at.exception
    wait_until(at, lambda at: list(table(at)["status"]) == ["destroyed"],
               what="the destroy to finish")
    assert environment_service.get_environment(portal, actor=ALICE, env_id=env.env_id).status \
        == "destroyed"
    assert any(e.label == "Destroyed (1)" for e in at.expander)
    assert not [b for b in at.button if b.key == destroy]
    # The destroyed environment's card is drawn once that list is opened.
    assert env.env_id not in " ".join(texts(at.markdown))
    at.session_state["my_environments.destroyed"] = True
    at.run()
    assert not at.exception
    assert f"`{env.env_id}`" in " ".join(texts(at.markdown))


def test_a_student_does_not_see_another_students_environment(app, portal) -> None:
    mine, theirs = launched(portal, ALICE), launched(portal, BOB)
    at = open_page(app(ALICE), "my_environments_page.py")
    ids = list(table(at)["environment"])
    assert ids == [mine.env_id]
    assert theirs.env_id not in " ".join(texts(at.markdown))
    assert not [b for b in at.button if theirs.env_id in (b.key or "")]


def test_an_instructor_sees_everyone_with_the_owner(app, portal) -> None:
    alice_env, bob_env = launched(portal, ALICE), launched(portal, BOB)
    at = open_page(app(TEACHER), "my_environments_page.py")
    assert texts(at.title) == ["All environments"]
    rows = table(at)
    assert dict(zip(rows["environment"], rows["owner"], strict=True)) == {alice_env.env_id: "alice",
                                                             bob_env.env_id: "bob"}
    # ... and may destroy a student's forgotten environment.
    at.button(key=f"environment_card.{bob_env.env_id}.destroy").click().run()
    at.button(key=f"environment_card.{bob_env.env_id}.confirm_destroy").click().run()
    wait_until(at, lambda at: dict(zip(table(at)["environment"], table(at)["status"], strict=True))
               == {alice_env.env_id: "ready", bob_env.env_id: "destroyed"},
               what="bob's environment to be destroyed")


def test_an_environment_of_a_stopped_emulator_shows_lost_with_its_reason(app, portal) -> None:
    env = launched(portal, ALICE)
    # As if the emulator that held it had been restarted since: reconcile must notice.
    with portal.sessions() as session, session.begin():
        session.execute(update(Environment).where(Environment.id == env.env_id)
                        .values(cloud_session="an-emulator-that-is-gone"))
    at = open_page(app(ALICE), "my_environments_page.py")
    assert list(table(at)["status"]) == ["lost"]
    assert any("embedded cloud that held this environment stopped" in e for e in texts(at.error))
    # Lost environments can still be destroyed, to clear them off the list.
    assert at.button(key=f"environment_card.{env.env_id}.destroy")


def test_a_launch_whose_portal_process_died_is_cleaned_up_by_the_portal(app, portal) -> None:
    started = environment_service.start_launch(portal, actor=ALICE, template_id="web-server",
                                               parameters={})
    # Claimed by a worker whose heartbeat stopped long ago.
    with portal.sessions() as session, session.begin():
        session.execute(update(Run).where(Run.id == started.run_id).values(
            worker="gone-host:1:deadbeef",
            heartbeat_at=utcnow() - run_state.HEARTBEAT_STALE - timedelta(seconds=1)))
    at = open_page(app(ALICE), "my_environments_page.py")
    assert not at.exception
    wait_until(at, lambda at: list(table(at)["status"]) == ["destroyed"],
               what="the portal's own clean-up destroy")
    env = environment_service.get_environment(portal, actor=ALICE, env_id=started.env_id)
    assert [(r.kind, r.status) for r in env.runs] == [("launch", "failed"),
                                                       ("destroy", "succeeded")]
    assert "interrupted" in (env.runs[0].error or "")


def test_a_student_sees_the_cost_and_health_of_their_own_environments_only(app, portal) -> None:
    mine = launched(portal, ALICE)
    launched(portal, BOB)
    assert mine.hourly_cost_usd and mine.hourly_cost_usd > 0  # priced at launch
    at = open_page(app(ALICE), "my_environments_page.py")
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Environments", "Cost", "Health"]
    # Only the open tab is drawn.
    at.session_state["my_environments.tab"] = "Cost"
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert "Cost so far" in metrics and "Projected" in metrics
    # Only alice's environment counts: one running, not two.
    assert metrics["Running now"] == "1"
    assert not [s for s in at.multiselect if s.label == "Student"]
    at.session_state["my_environments.tab"] = "Health"
    at.run()
    assert not at.exception
    assert not [s for s in at.multiselect if s.label == "Student"]
    # No metrics collected yet, but the launch itself is timed, resource by resource.
    assert {"CPU credits", "Deploy timings"} <= set(texts(at.subheader))
    assert any("No CPU credit metrics in this window" in i for i in texts(at.info))


def test_an_instructor_sees_no_cost_or_health_tabs_here(app, portal) -> None:
    launched(portal, ALICE)
    at = open_page(app(TEACHER), "my_environments_page.py")
    assert not at.exception
    assert not at.tabs


def test_a_lease_ending_soon_shows_a_banner_and_can_be_extended(app, portal) -> None:
    from datetime import timedelta

    from services.history.models import utcnow

    env = launched(portal, ALICE)
    soon = utcnow() + timedelta(minutes=20)
    with portal.sessions() as session, session.begin():
        session.execute(update(Environment).where(Environment.id == env.env_id)
                        .values(expires_at=soon))
    at = open_page(app(ALICE), "my_environments_page.py")
    assert not at.exception
    banner = " ".join(texts(at.warning))
    assert f"The lease of **{env.env_id}**" in banner and "min" in banner
    # The lease form is drawn once its popover is opened.
    assert not at.number_input
    at.session_state[f"lease_controls.{env.env_id}.open"] = True
    at.run()
    at.number_input(key=f"lease_controls.{env.env_id}.hours").set_value(2)
    next(b for b in at.button if b.label == "Extend").click().run()
    assert not at.exception
    extended = environment_service.get_environment(portal, actor=ALICE, env_id=env.env_id)
    assert extended.expires_at == soon + timedelta(hours=2)
    assert f"The lease of **{env.env_id}**" not in " ".join(texts(at.warning))
    # A student may not end a lease; the control is not there for them.
    assert not [b for b in at.button if b.key == f"lease_controls.{env.env_id}.end"]


def test_a_class_sized_list_pages_its_cards_as_summary_lines_opened_one_by_one(
        app, portal) -> None:
    from portal.components.environments_table import PAGE_SIZE

    envs = launched_and_failed(portal, BOB, PAGE_SIZE + 1)
    with portal.sessions() as session, session.begin():
        session.execute(update(Environment).where(Environment.id == envs[-1].env_id)
                        .values(status="ready", status_reason=None))
    at = open_page(app(TEACHER), "my_environments_page.py")
    assert not at.exception
    summaries = [e for e in at.expander if e.key and e.key.startswith("my_environments.card.")]
    assert len(summaries) == PAGE_SIZE, "one page of summary lines"
    newest = envs[-1]
    [line] = [e for e in summaries if e.key == f"my_environments.card.{newest.env_id}"]
    assert newest.env_id in line.label and newest.owner in line.label and "ready" in line.label
    # Closed, nothing of the card is drawn; opened, the whole card is, Destroy included.
    assert not [b for b in at.button if b.key and newest.env_id in b.key]
    at.session_state[f"my_environments.card.{newest.env_id}"] = True
    at.run()
    assert not at.exception
    assert at.button(key=f"environment_card.{newest.env_id}.destroy")


def test_the_newest_environments_are_whole_cards_and_the_others_summary_lines(
        app, portal) -> None:
    whole_cards = 3  # WHOLE_CARDS of pages/my_environments_page.py
    envs = launched_and_failed(portal, ALICE, whole_cards + 2)
    at = open_page(app(ALICE), "my_environments_page.py")
    assert not at.exception
    newest_first = [env.env_id for env in reversed(envs)]
    assert list(table(at)["environment"]) == newest_first
    destroys = [b.key for b in at.button if b.key and b.key.endswith(".destroy")]
    assert destroys == [f"environment_card.{env_id}.destroy"
                        for env_id in newest_first[:whole_cards]]
    summaries = [e.key for e in at.expander if e.key and e.key.startswith("my_environments.card.")]
    assert summaries == [f"my_environments.card.{env_id}" for env_id in newest_first[whole_cards:]]
    # A summary line opened is the whole card.
    oldest = newest_first[-1]
    at.session_state[f"my_environments.card.{oldest}"] = True
    at.run()
    assert not at.exception
    assert at.button(key=f"environment_card.{oldest}.destroy")
