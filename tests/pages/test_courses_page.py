"""Courses: an instructor creates a course with its limits and sees it, fills its roster from a
CSV and reads each person's one-time code once; bad input is named next to its field; students
are turned away; admins create instructors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from portal import identity
from portal.components.roster_table import CODES_NOTE
from services import accounts, courses
from services.context import PortalContext
from services.history.models import Account
from services.identity import Actor

from tests.pages.conftest import ALICE, RUN_TIMEOUT_S, plain, texts

PAGE = Path(__file__).resolve().parents[2] / "pages" / "courses_page.py"
PASSWORD = "correct horse battery"


def actor_of(portal: PortalContext, name: str) -> Actor:
    """The actor a signed-in account acts as (its taught courses read now)."""
    with portal.sessions() as session:
        return accounts.actor_for(session, session.get(Account, name))


@pytest.fixture
def teacher(portal: PortalContext) -> Actor:
    """An instructor account who is not an admin and teaches nothing yet."""
    accounts.create_account(portal, actor=None, name="ms-lee", role="instructor",
                            password=PASSWORD)
    return actor_of(portal, "ms-lee")


@pytest.fixture
def admin(portal: PortalContext) -> Actor:
    accounts.create_account(portal, actor=None, name="root", role="instructor", is_admin=True,
                            password=PASSWORD)
    return actor_of(portal, "root")


@pytest.fixture
def page(portal: PortalContext) -> Callable[[Actor], AppTest]:
    # Opened directly: portal/app.py registers its pages (and so this one) by role.
    def make(actor: Actor) -> AppTest:
        at = AppTest.from_file(str(PAGE), default_timeout=RUN_TIMEOUT_S)
        at.session_state[identity.ACTOR_KEY] = actor
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return make


def overview(at: AppTest) -> list[dict[str, object]]:
    """The rows of the courses table (the first table on the page)."""
    return at.dataframe[0].value.to_dict("records")


def submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_student_is_turned_away(page) -> None:
    at = page(ALICE)
    assert texts(at.warning) == ["This page is for instructors."]
    assert not at.title and not at.button


def test_an_instructor_creates_a_course_and_sees_it(page, portal, teacher) -> None:
    at = page(teacher)
    assert texts(at.title) == ["Courses"]
    # Before any course only the open default course is listed, and there is nothing to manage.
    assert [row["course"] for row in overview(at)] == [portal.settings.default_course]

    at.text_input(key="course_form.create.0.course").input("cloud-101")
    at.text_input(key="course_form.create.0.title").input("Cloud 101")
    at.number_input(key="course_form.create.0.budget_usd").set_value(20.0)
    at.number_input(key="course_form.create.0.max_running_envs").set_value(1)
    at.number_input(key="course_form.create.0.max_lease_hours").set_value(6)
    templates = at.multiselect(key="course_form.create.0.templates")
    assert templates.options == ["ha-web", "three-tier", "web-server"]
    templates.select("web-server")
    sizes = at.multiselect(key="course_form.create.0.instance_types")
    # The catalog's EC2 sizes, and no RDS or ElastiCache class among them.
    assert "t3.micro" in sizes.options and not any(o.startswith(("db.", "cache."))
                                                   for o in sizes.options)
    sizes.select("t3.micro")
    assert "db.t3.micro" in at.multiselect(key="course_form.create.0.db_classes").options
    at.toggle(key="course_form.create.0.notify_only").set_value(True)
    submit(at, "Create course")

    assert "Course **cloud-101** created." in texts(at.success)
    row = next(r for r in overview(at) if r["course"] == "cloud-101")
    assert {k: row[k] for k in (
        "title", "students", "instructors", "budget (USD)", "at the budget", "running at once",
        "longest lease (h)", "templates", "instance types", "DB classes")} == {
        "title": "Cloud 101", "students": 0, "instructors": "ms-lee", "budget (USD)": 20.0,
        "at the budget": "notify", "running at once": 1, "longest lease (h)": 6,
        "templates": "web-server", "instance types": "t3.micro", "DB classes": "all offered"}
    policy = courses.get_policy(portal, "cloud-101")
    assert (policy.templates, policy.instance_types, policy.db_classes, policy.budget_action) == (
        ("web-server",), ("t3.micro",), None, "notify")
    assert at.selectbox(key="courses_page.course").value == "cloud-101"
    # The next run starts with an empty form.
    at.run()
    assert at.text_input(key="course_form.create.1.course").value == ""
    assert at.multiselect(key="course_form.create.1.templates").value == []


def test_an_invalid_course_id_is_named_under_its_field(page, portal, teacher) -> None:
    at = page(teacher)
    at.text_input(key="course_form.create.0.course").input("cloud 101!")
    submit(at, "Create course")
    messages = texts(at.error)
    assert any(m.startswith("use 1-64 letters") for m in messages), messages
    # And in the summary under the form, naming the field.
    assert any("**Course id**: use 1-64 letters" in m for m in messages), messages
    assert courses.get_policy(portal, "cloud 101!") is None
    # What was typed stays, to be corrected.
    assert at.text_input(key="course_form.create.0.course").value == "cloud 101!"


def test_limits_are_edited_for_the_chosen_course(page, portal, teacher) -> None:
    courses.create_course(portal, actor=teacher, course_id="cloud-101", budget_usd=30)
    at = page(teacher)
    assert at.number_input(key="course_form.edit.cloud-101.0.budget_usd").value == 30.0
    at.number_input(key="course_form.edit.cloud-101.0.budget_usd").set_value(0.0)
    submit(at, "Save limits")
    assert any("more than 0" in m for m in texts(at.error))
    assert courses.get_policy(portal, "cloud-101").budget_usd == 30

    at.number_input(key="course_form.edit.cloud-101.0.budget_usd").set_value(45.0)
    submit(at, "Save limits")
    assert "Limits saved." in texts(at.success)
    assert courses.get_policy(portal, "cloud-101").budget_usd == 45
    assert next(r for r in overview(at) if r["course"] == "cloud-101")["budget (USD)"] == 45.0


ROSTER = b"name,email,role\nann,ann@example.org,student\nben,ben@example.org,\n"


def test_an_imported_roster_shows_each_code_once(page, portal, teacher) -> None:
    courses.create_course(portal, actor=teacher, course_id="cloud-101")
    at = page(teacher)
    uploader = at.file_uploader(key="roster_table.cloud-101.roster_file")
    assert uploader.allowed_type == [".csv"]
    uploader.set_value(("roster.csv", ROSTER, "text/csv"))
    submit(at, "Import")

    assert "Imported 2 people: 2 new accounts, 2 newly enrolled." in texts(at.success)
    result = next(d.value for d in at.dataframe if "one-time code" in d.value.columns)
    codes = dict(zip(result["name"], result["one-time code"], strict=True))
    assert sorted(codes) == ["ann", "ben"]
    assert plain(CODES_NOTE) in texts(at.warning)
    # The codes are real: ann sets her password with hers.
    accounts.activate(portal, login="ann", code=codes["ann"], password=PASSWORD)
    # The roster above the forms already lists them, students without a password flagged.
    roster = " ".join(texts(at.markdown))
    assert "ann" in roster and "ben" in roster and ":orange[not set]" in roster
    assert next(r for r in overview(at) if r["course"] == "cloud-101")["students"] == 2

    at.run()  # any next click
    assert not any("one-time code" in d.value.columns for d in at.dataframe)
    state = repr({k: at.session_state[k] for k in at.session_state})
    assert not any(code in state for code in codes.values())


def test_a_student_gets_a_new_one_time_code(page, portal, teacher) -> None:
    courses.create_course(portal, actor=teacher, course_id="cloud-101")
    courses.import_roster(portal, actor=teacher, course_id="cloud-101",
                          text="name,email\nann,ann@example.org\n")
    # The actor as a fresh sign-in sees it: it now teaches cloud-101.
    at = page(actor_of(portal, "ms-lee"))
    submit(at, "New one-time code")
    code = at.code[0].value
    assert any(m.startswith("One-time code for **ann**") for m in texts(at.success))
    accounts.activate(portal, login="ann", code=code, password=PASSWORD)
    at.run()
    assert not at.code


def test_a_bad_roster_line_is_named_and_nothing_imported(page, portal, teacher) -> None:
    courses.create_course(portal, actor=teacher, course_id="cloud-101")
    at = page(teacher)
    at.file_uploader(key="roster_table.cloud-101.roster_file").set_value(
        ("roster.csv", b"name,email\nann,ann@example.org\nbad name!,b@example.org\n",
         "text/csv"))
    submit(at, "Import")
    assert any(m.startswith("Nothing of the file was imported") and "line 3" in m
               for m in texts(at.error))
    assert accounts.get_account(portal, "ann") is None


def test_existing_accounts_are_enrolled_by_name(page, portal, teacher) -> None:
    courses.create_course(portal, actor=teacher, course_id="cloud-101")
    accounts.create_account(portal, actor=teacher, name="carol", role="student")
    at = page(teacher)
    names = at.multiselect(key="roster_table.cloud-101.enrol_names")
    # Students only: ms-lee teaches it already and is no admin.
    assert names.options == ["carol"]
    names.select("carol")
    submit(at, "Enrol")
    assert "Enrolled 1." in texts(at.success)
    members = courses.visible_courses(portal, actor=teacher)
    assert [m.name for v in members if v.id == "cloud-101" for m in v.members] == [
        "ms-lee", "carol"]


def test_only_admins_create_instructors_who_get_a_code(page, portal, teacher, admin) -> None:
    assert not [e for e in page(teacher).expander
                if e.label == "Create an instructor account"]
    at = page(admin)
    at.text_input(key="roster_table.instructor.instructor_name").input("mr-kim")
    at.text_input(key="roster_table.instructor.instructor_email").input("kim@example.org")
    submit(at, "Create instructor")
    assert any(m.startswith("One-time code for **mr-kim**") for m in texts(at.success))
    created = accounts.get_account(portal, "mr-kim")
    assert (created.role, created.has_password, created.email) == (
        "instructor", False, "kim@example.org")
    accounts.activate(portal, login="mr-kim", code=at.code[0].value, password=PASSWORD)

    submit(at, "Create instructor")  # the same name again
    assert any("already exists" in m for m in texts(at.error))
