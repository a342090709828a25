"""Audit log: an instructor reads what the services recorded, narrows it by outcome, action, actor
and time, and downloads exactly the rows shown; students are turned away."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from portal import identity
from services import accounts, audit, courses
from services.accounts import SignInError
from services.audit import Action, Outcome
from services.context import PortalContext
from services.history.models import Account, utcnow
from services.identity import Actor

from tests.pages.conftest import ALICE, RUN_TIMEOUT_S, texts

PAGE = Path(__file__).resolve().parents[2] / "pages" / "audit_page.py"
PASSWORD = "correct horse battery"
# A download's file name and text.
DownloadedFile = tuple[str | None, str]


class RecordingStorage(MemoryMediaFileStorage):
    """AppTest's in-memory media storage, kept where the test can read the downloads from it
    (AppTest builds a new one for every run and keeps no reference)."""

    made: list[RecordingStorage] = []

    def __init__(self, media_endpoint: str) -> None:
        super().__init__(media_endpoint)
        RecordingStorage.made.append(self)


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[AppTest], DownloadedFile]]:
    RecordingStorage.made = []
    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", RecordingStorage)

    def file_of(at: AppTest) -> DownloadedFile:
        """Name and text of the file behind the page's download button, from the last run's
        storage."""
        url = at.download_button[0].proto.url
        stored = RecordingStorage.made[-1].get_file(url.rsplit("/", 1)[-1])
        return stored.filename, stored.content.decode()

    yield file_of


def actor_of(portal: PortalContext, name: str) -> Actor:
    with portal.sessions() as session:
        return accounts.actor_for(session, session.get(Account, name))


@pytest.fixture
def history(portal: PortalContext) -> Actor:
    """ms-lee teaches cloud-101 and imported two students; someone failed to sign in as ann; a
    launch in cloud-101 was refused; root (an admin) runs a course ms-lee does not teach.
    Returns ms-lee as a fresh sign-in sees her."""
    accounts.create_account(portal, actor=None, name="root", role="instructor", is_admin=True,
                            password=PASSWORD)
    root = actor_of(portal, "root")
    accounts.create_account(portal, actor=root, name="ms-lee", role="instructor",
                            password=PASSWORD)
    teacher = actor_of(portal, "ms-lee")
    courses.create_course(portal, actor=teacher, course_id="cloud-101")
    teacher = actor_of(portal, "ms-lee")
    courses.import_roster(portal, actor=teacher, course_id="cloud-101",
                          text="name,email\nann,ann@example.org\nben,ben@example.org\n")
    with pytest.raises(SignInError):
        accounts.authenticate(portal, login="ann", password="not her password",
                              client="10.0.0.7")
    audit.record_now(portal, actor="ann", action=Action.LAUNCH, outcome=Outcome.REFUSED,
                     course_id="cloud-101", target="ha-web", detail="template not allowed")
    courses.create_course(portal, actor=root, course_id="secret-301")
    return teacher


@pytest.fixture
def page(portal: PortalContext) -> Callable[[Actor], AppTest]:
    # Opened directly: portal/app.py registers its pages (and so this one) by role.
    def make(actor: Actor) -> AppTest:
        at = AppTest.from_file(str(PAGE), default_timeout=RUN_TIMEOUT_S)
        at.session_state[identity.ACTOR_KEY] = actor
        return rerun(at)

    return make


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> list[dict[str, str]]:
    return at.dataframe[0].value.to_dict("records")


def test_a_student_is_turned_away(page) -> None:
    at = page(ALICE)
    assert texts(at.warning) == ["This page is for instructors."]
    assert not at.dataframe and not at.download_button


def test_the_entries_the_services_recorded_show_newest_first(page, portal, history) -> None:
    at = page(history)
    assert texts(at.title) == ["Audit log"]
    rows = shown(at)
    expected = audit.entries(portal, actor=history)
    assert [(r["actor"], r["action"], r["outcome"], r["course"], r["target"]) for r in rows] == [
        (e.actor, e.action, e.outcome, e.course_id or "", e.target or "") for e in expected]
    actions = [r["action"] for r in rows]
    # Newest first: the refused launch was the last thing ms-lee may see.
    assert actions[0] == Action.LAUNCH.value
    assert {Action.COURSE_CREATE.value, Action.ROSTER_IMPORT.value,
            Action.ACCOUNT_CREATE.value, Action.SIGN_IN.value} <= set(actions)
    # The admin's course is not hers to read.
    assert "secret-301" not in {r["course"] for r in rows}
    assert at.multiselect(key="audit_table.audit.courses").options == [
        portal.settings.default_course, "cloud-101"]


def test_the_outcome_filter_narrows_the_entries(page, history) -> None:
    at = page(history)
    everything = len(shown(at))
    at.multiselect(key="audit_table.audit.outcomes").select(Outcome.REFUSED.value)
    rerun(at)
    rows = shown(at)
    assert 0 < len(rows) < everything
    assert {r["outcome"] for r in rows} == {"refused"}
    assert sorted(r["action"] for r in rows) == ["launch", "sign_in"]
    sign_in = next(r for r in rows if r["action"] == "sign_in")
    assert (sign_in["actor"], sign_in["client"]) == ("ann", "10.0.0.7")


def test_action_actor_and_course_filters_combine(page, history) -> None:
    at = page(history)
    at.multiselect(key="audit_table.audit.actions").select(Action.ACCOUNT_CREATE.value)
    at.text_input(key="audit_table.audit.actors").input("ms-lee, root")
    rerun(at)
    # root's own account was created by the first start's setup, recorded under root.
    assert sorted(r["target"] for r in shown(at)) == ["ann", "ben", "ms-lee", "root"]
    at.multiselect(key="audit_table.audit.actions").unselect(Action.ACCOUNT_CREATE.value)
    at.text_input(key="audit_table.audit.actors").input("")
    at.multiselect(key="audit_table.audit.courses").select("cloud-101")
    rerun(at)
    assert {r["course"] for r in shown(at)} == {"cloud-101"}


def test_a_window_in_the_past_shows_no_entries(page, history) -> None:
    at = page(history)
    at.selectbox(key="audit_table.audit.window").select("Custom dates")
    rerun(at)
    long_ago = (utcnow() - timedelta(days=60)).date()
    at.date_input(key="audit_table.audit.dates").set_value((long_ago, long_ago))
    rerun(at)
    assert not at.dataframe and not at.download_button
    assert texts(at.info) == ["No entries match these filters."]


def test_the_download_is_the_csv_of_what_is_shown(page, portal, history, downloads) -> None:
    at = page(history)
    at.multiselect(key="audit_table.audit.outcomes").select(Outcome.REFUSED.value)
    rerun(at)
    file_name, data = downloads(at)
    assert data == audit.to_csv(audit.entries(portal, actor=history,
                                              outcomes=[Outcome.REFUSED.value]))
    in_file = list(csv.DictReader(io.StringIO(data)))
    assert [(r["actor"], r["action"], r["outcome"], r["course"]) for r in in_file] == [
        (r["actor"], r["action"], r["outcome"], r["course"]) for r in shown(at)]
    assert file_name is not None and file_name.startswith("audit-")
    assert file_name.endswith(".csv")
