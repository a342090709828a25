"""An instructor brings a template in Chromium and a student of the course launches it: the
Templates page's upload and course assignment, then the Launch page's form made from the
template's parameters (a VPC picked from the embedded cloud, a password box) and a launch that
becomes ready."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from services import courses, environment_service, template_library
from services.context import get_context
from services.identity import Actor, Role
from tests.browser.conftest import (
    OPERATOR,
    chromium_browser,
    make_account,
    new_page,
    sidebar,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

PORT_LAB = Path(__file__).resolve().parents[1] / "fixtures" / "ui_imports" / "port-lab.yaml"
TEACHER = Actor(name="ms-lee", role=Role.INSTRUCTOR, courses_taught=frozenset())
ALICE = Actor(name="alice", role=Role.STUDENT)
LAB_PASSWORD = "Sesame4Lab2Open"


def form_with(page: Page, button: str) -> Locator:
    """The st.form whose submit button reads `button`."""
    return page.get_by_test_id("stForm").filter(
        has=page.get_by_role("button", name=button, exact=True))


def pick(page: Page, widget: Locator, option: str | re.Pattern[str], *,
         search: str | None = None) -> None:
    """Open a selectbox or multiselect and click one of its options. `search` is typed first:
    the list draws only its first options, and a long one (every VPC other tests made on the
    shared cloud) may not hold the wanted one in view."""
    widget.locator("input").first.click()
    if search:
        page.keyboard.type(search)
    page.get_by_role("option", name=option).first.click()


def choose_in_multiselect(page: Page, widget: Locator, option: str, attempts: int = 3) -> None:
    """Pick `option` and see its chip in the box before the form is sent. Under a loaded
    server a click on the list can land while the page is still being redrawn and be dropped;
    the chip is the widget's own word that the choice is held."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    # Streamlit draws each chosen value as a `data-tag` element inside the box.
    chip = widget.locator("[data-tag]").filter(has_text=option)
    for attempt in range(attempts):
        if attempt and chip.count():
            return
        pick(page, widget, option, search=option)
        page.keyboard.press("Escape")
        try:
            expect(chip).to_be_visible(timeout=5_000)
            return
        except (AssertionError, PlaywrightError):
            if attempt == attempts - 1:
                raise


def import_and_assign(page: Page, url: str, password: str) -> None:
    """As the instructor: upload the template, read its derived form, offer it to cloud-101."""
    from playwright.sync_api import expect

    sign_in(page, url, TEACHER.name, password)
    sidebar(page).get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", name="Templates")).to_be_visible()
    page.get_by_test_id("stExpander").get_by_text("Import a template", exact=True).click()
    importing = form_with(page, "Import template")
    importing.locator("input[type=file]").set_input_files(PORT_LAB)
    # The file goes to the server as soon as it is chosen; the form is sent after.
    expect(importing.get_by_text(PORT_LAB.name)).to_be_visible()
    importing.get_by_role("textbox", name="Template id").fill("port-lab")
    importing.get_by_role("textbox", name="Title").fill("One open port")
    importing.get_by_role("button", name="Import template").click()
    expect(page.get_by_text(re.compile(r"imported: version 1, CloudFormation, 6 parameters"))
           ).to_be_visible(timeout=30_000)
    # The derived form: the VPC parameter is picked from the cloud, the password is secret.
    expect(page.get_by_role("cell", name="AWS::EC2::VPC::Id").first).to_be_visible()

    # The import's rerun redraws the page; a choice made while it runs would be lost.
    expect(page.get_by_text(re.compile(r"CloudFormation, version 1, imported by"))
           ).to_be_visible()
    page.get_by_role("tab", name="Courses").click()
    assigning = form_with(page, "Save courses")
    choose_in_multiselect(page, assigning.get_by_test_id("stMultiSelect"), "cloud-101")
    assigning.get_by_role("button", name="Save courses").click()
    expect(page.get_by_text("Offered in cloud-101.")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def launch_as_student(page: Page, url: str, password: str, vpc_id: str) -> None:
    """As the student: find the template in cloud-101, fill its form, launch, see it ready."""
    from playwright.sync_api import expect

    sign_in(page, url, ALICE.name, password)
    page.get_by_role("link", name="Launch", exact=True).click()
    expect(page.get_by_role("heading", name="Launch")).to_be_visible()
    pick(page, page.get_by_test_id("stSelectbox").filter(has_text="Course"), "Cloud 101")
    pick(page, page.get_by_test_id("stSelectbox").filter(has_text="Template"),
         "One open port (port-lab)")
    pick(page, page.get_by_test_id("stSelectbox").filter(has_text="LabVpc"),
         re.compile(f"^{vpc_id}"), search=vpc_id)
    secret = page.get_by_role("textbox", name="LabPassword")
    expect(secret).to_have_attribute("type", "password")
    secret.fill(LAB_PASSWORD)
    secret.press("Enter")
    # Once the form is complete the preview renders the code (the secret masked in it).
    expect(page.get_by_role("tab", name="CloudFormation")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Launch", exact=True).click()
    expect(page.get_by_text(re.compile(r"Environment \w+ is ready"))).to_be_visible(
        timeout=90_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_student_launches_the_template_an_instructor_imported_for_the_course(
        chromium: Path, portal_url: str, tmp_path: Path) -> None:
    ctx = get_context()  # the same database as the server's
    teacher_password = make_account(ctx, TEACHER.name, role=Role.INSTRUCTOR)
    student_password = make_account(ctx, ALICE.name)
    courses.create_course(ctx, actor=TEACHER, course_id="cloud-101", title="Cloud 101")
    courses.enrol(ctx, actor=OPERATOR, course_id="cloud-101", names=[ALICE.name])
    # Other tests make and remove VPCs on the shared cloud; the default one stays.
    [vpc] = ctx.connection.client("ec2").describe_vpcs(
        Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]

    with chromium_browser(chromium, tmp_path) as browser:
        import_and_assign(new_page(browser), portal_url, teacher_password)
        launch_as_student(new_page(browser), portal_url, student_password, vpc["VpcId"])

    stored = template_library.get_template(ctx, actor=OPERATOR, template_id="port-lab")
    assert (stored.title, stored.courses, stored.created_by) == (
        "One open port", ("cloud-101",), TEACHER.name)
    [env] = environment_service.list_environments(ctx, actor=ALICE)
    assert (env.template_id, env.course, env.status) == ("port-lab", "cloud-101", "ready")
    assert env.parameters["LabVpc"] == vpc["VpcId"]
    assert env.parameters["LabPassword"] == environment_service.SECRET_NOT_STORED
    assert environment_service.destroy(ctx, actor=ALICE, env_id=env.env_id).status == "destroyed"
