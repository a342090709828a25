"""The course form: it offers the sizes the course service accepts, sends "nothing chosen" as no
narrowing, fills an edited course's limits, and puts each message under its field."""

from __future__ import annotations

from datetime import date

from streamlit.testing.v1 import AppTest

from portal.components.course_form import size_options
from services import courses
from services.context import PortalContext
from services.identity import Actor, Role

TEACHER = Actor(name="ms-lee", role=Role.INSTRUCTOR)
RESULT = "test.course_form"


def form_app(course_id: str | None, errors: dict[str, str] | None) -> None:  # run as a script
    import streamlit as st

    from portal.components.course_form import course_form
    from services import courses
    from services.context import get_context

    ctx = get_context()
    policy = courses.get_policy(ctx, course_id) if course_id else None
    form = course_form(ctx.catalog.all_templates(), key="t", max_lease_hours=24, course=policy,
                       defaults=courses.default_policy(ctx))
    st.session_state["test.course_form"] = (form.course_id, form.values, form.submitted)
    form.show_errors(errors or {})


def run(course_id: str | None = None, errors: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_function(form_app, args=(course_id, errors), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_size_offered_is_one_the_service_accepts(ctx: PortalContext) -> None:
    sizes = size_options(ctx.catalog.all_templates())
    assert {"t3.micro", "m6i.large"} <= set(sizes.instance_types)
    assert {"db.t3.micro", "db.m6g.large"} <= set(sizes.db_classes)
    # ElastiCache node types and retention days are no size a course narrows.
    assert not [s for s in sizes.instance_types + sizes.db_classes if s.startswith("cache.")]
    view = courses.create_course(ctx, actor=TEACHER, course_id="all-sizes",
                                 instance_types=sizes.instance_types,
                                 db_classes=sizes.db_classes)
    assert view.policy.instance_types == tuple(sizes.instance_types)


def test_a_new_course_narrows_nothing_unless_asked(ctx: PortalContext) -> None:
    at = run()
    course_id, values, submitted = at.session_state[RESULT]
    assert (course_id, submitted) == ("", False)
    assert values["templates"] is None and values["instance_types"] is None
    assert values["db_classes"] is None and values["budget_action"] == "stop"
    # The portal-wide limits are the new course's defaults, the lease capped by the portal's.
    assert values["budget_usd"] == ctx.settings.student_budget_usd
    assert values["max_lease_hours"] == 24

    at.text_input(key="course_form.t.0.course").input(" cloud-101 ")
    at.multiselect(key="course_form.t.0.db_classes").select("db.t3.micro")
    at.button[0].click().run()
    course_id, values, submitted = at.session_state[RESULT]
    assert (course_id, submitted) == ("cloud-101", True)
    assert values["db_classes"] == ["db.t3.micro"] and values["templates"] is None


def test_an_edited_course_shows_its_own_limits(ctx: PortalContext) -> None:
    courses.create_course(ctx, actor=TEACHER, course_id="cloud-101", title="Cloud 101",
                          templates=["web-server"], budget_usd=12.5, budget_action="notify",
                          starts_on=date(2026, 9, 1))
    at = run("cloud-101")
    assert not [t for t in at.text_input if t.label == "Course id"]
    assert at.text_input(key="course_form.t.0.title").value == "Cloud 101"
    assert at.multiselect(key="course_form.t.0.templates").value == ["web-server"]
    assert at.number_input(key="course_form.t.0.budget_usd").value == 12.5
    assert at.toggle(key="course_form.t.0.notify_only").value is True
    assert at.date_input(key="course_form.t.0.starts_on").value == date(2026, 9, 1)
    assert at.button[0].label == "Save limits"


def test_messages_go_under_their_fields_and_into_a_summary(ctx: PortalContext) -> None:
    at = run(errors={"budget_usd": "more than 0", "roster": "not a form field"})
    messages = [e.value for e in at.error]
    assert messages[0] == "more than 0"
    assert "**Budget per student \\(USD\\)**" in messages[-1]
    assert "**roster**: not a form field" in messages[-1]
