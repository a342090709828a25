"""Templates: an instructor imports a CloudFormation template and reads the launch form derived
from it; a file cfn-lint refuses is named in cfn-lint's words; a new version, details, courses and
retiring; students are turned away. Then the students' side: the imported template on the Launch
page of its course only, a widget for every derived parameter type, and a launch on the embedded
cloud whose secret goes to the cloud and nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from portal import identity
from portal.components.parameter_form import field_key
from portal.components.template_picker import PICKER_KEY
from services import accounts, courses, environment_service
from services import template_library as library
from services.context import PortalContext
from services.history.models import Account
from services.identity import Actor, Role
from services.render_service import SECRET_MASK

from tests.pages.conftest import ALICE, RUN_TIMEOUT_S, open_page, plain, texts, wait_until

PAGE = Path(__file__).resolve().parents[2] / "pages" / "templates_page.py"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ui_imports"
PORT_LAB = FIXTURES / "port-lab.yaml"
PORT_LAB_V2 = FIXTURES / "port-lab-v2.yaml"
MISSPELT = FIXTURES / "misspelt-property.yaml"
OPERATOR = Actor("operator", Role.INSTRUCTOR, is_admin=True)
PASSWORD = "correct horse battery"
LAB_PASSWORD = "Sesame4Lab2Open"
# The import form's widgets before its first successful import (the form then starts afresh).
IMPORT = "template_import_form.import.0"


def actor_of(portal: PortalContext, name: str) -> Actor:
    """The actor a signed-in account acts as (its taught courses read now)."""
    with portal.sessions() as session:
        return accounts.actor_for(session, session.get(Account, name))


@pytest.fixture
def teacher(portal: PortalContext) -> Actor:
    """An instructor, no admin, who teaches cloud-101 (alice is in it); cloud-202 is someone
    else's course."""
    accounts.create_account(portal, actor=None, name="ms-lee", role="instructor",
                            password=PASSWORD)
    courses.create_course(portal, actor=actor_of(portal, "ms-lee"), course_id="cloud-101",
                          title="Cloud 101")
    courses.create_course(portal, actor=OPERATOR, course_id="cloud-202", title="Cloud 202")
    accounts.create_account(portal, actor=OPERATOR, name="alice", role="student")
    courses.enrol(portal, actor=OPERATOR, course_id="cloud-101", names=["alice"])
    return actor_of(portal, "ms-lee")


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


def submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, key: str, path: Path) -> None:
    at.file_uploader(key=key).set_value((path.name, path.read_bytes(), "application/x-yaml"))


def imported(portal: PortalContext, *, courses: tuple[str, ...] = ("cloud-101",)
             ) -> library.ImportedTemplate:
    return library.import_template(portal, actor=OPERATOR,
                                   source=library.TemplateSource.from_upload(
                                       PORT_LAB.name, PORT_LAB.read_bytes()),
                                   template_id="port-lab", courses=courses)


def overview(at: AppTest) -> list[dict[str, object]]:
    """The rows of the templates table (the first table on the page)."""
    return at.dataframe[0].value.to_dict("records")


def derived_form(at: AppTest) -> dict[str, dict[str, str]]:
    """The parameters table of the template shown (its last static table), by name."""
    return {row["name"]: row for row in at.table[-1].value.to_dict("records")}


def tab(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(t for t in at.tabs if t.label == label)


# -- the instructor's side ------------------------------------------------------------------------
def test_a_student_is_turned_away(page) -> None:
    at = page(ALICE)
    assert texts(at.warning) == ["This page is for instructors."]
    assert not at.title and not at.button and not at.file_uploader


def test_an_instructor_imports_a_template_and_reads_the_form_derived_from_it(
        page, portal, teacher) -> None:
    at = page(teacher)
    assert texts(at.title) == ["Templates"]
    assert texts(at.info)[0].startswith("No template imported yet")
    uploader = at.file_uploader(key=f"{IMPORT}.file")
    assert uploader.allowed_type == [".yaml", ".yml", ".json", ".template", ".zip"]
    # Only the courses ms-lee teaches may be offered it.
    assert at.multiselect(key=f"{IMPORT}.courses").options == ["cloud-101"]

    upload(at, f"{IMPORT}.file", PORT_LAB)
    at.text_input(key=f"{IMPORT}.id").input("port-lab")
    at.text_input(key=f"{IMPORT}.title").input("One open port")
    at.text_area(key=f"{IMPORT}.learning_goals").input("Open one port.\n\nKeep a secret.\n")
    at.multiselect(key=f"{IMPORT}.courses").select("cloud-101")
    submit(at, "Import template")

    assert any(m.startswith("**port-lab** imported: version 1, CloudFormation, 6 parameters")
               for m in texts(at.success)), texts(at.success)
    form = derived_form(at)
    assert list(form) == ["LabName", "OpenPort", "Protocol", "SourceCidrs", "LabVpc",
                          "LabPassword"]
    columns = ("type", "AWS type (picked from the cloud)", "allowed values", "default", "secret")
    assert {name: tuple(row[c] for c in columns) for name, row in form.items()} == {
        "LabName": ("string", "", "at most 20 characters; lower-case letters, digits and dashes, "
                    "starting with a letter.", "port-lab", ""),
        "OpenPort": ("number", "", "1–65535", "80", ""),
        "Protocol": ("string", "", "tcp, udp", "tcp", ""),
        "SourceCidrs": ("list of strings", "", "", "10.0.0.0/8, 192.168.0.0/16", ""),
        "LabVpc": ("aws", "AWS::EC2::VPC::Id", "", "(required)", ""),
        "LabPassword": ("string", "", "8–41 characters; letters and digits only, 8 to 41 of "
                        "them.", "(required)", "yes"),
    }
    # The overview above lists it at once, and the form below manages it.
    [row] = overview(at)
    assert {k: row[k] for k in ("template", "title", "engine", "version", "uploaded by",
                                "courses", "parameters", "state")} == {
        "template": "port-lab", "title": "One open port", "engine": "CloudFormation",
        "version": "1", "uploaded by": "ms-lee", "courses": "cloud-101", "parameters": "6",
        "state": "offered"}
    assert at.selectbox(key="templates_page.template").value == "port-lab"

    stored = library.get_template(portal, actor=teacher, template_id="port-lab")
    assert (stored.title, stored.learning_goals, stored.courses) == (
        "One open port", ("Open one port.", "Keep a secret."), ("cloud-101",))
    # Without a summary of its own it reads the template's Description.
    assert stored.summary.startswith("A security group in a VPC")
    # The next run starts with an empty form.
    at.run()
    assert at.text_input(key="template_import_form.import.1.id").value == ""


def test_a_file_cfn_lint_refuses_is_named_in_its_words_and_nothing_is_stored(
        page, portal, teacher) -> None:
    at = page(teacher)
    upload(at, f"{IMPORT}.file", MISSPELT)
    at.text_input(key=f"{IMPORT}.id").input("broken-lab")
    submit(at, "Import template")

    messages = texts(at.error)
    under_the_file = next(m for m in messages if m.startswith("cfn-lint"))
    assert "E3002" in under_the_file and "'GroupDescriptio' was unexpected" in under_the_file
    assert "E3003" in under_the_file
    assert any(m.startswith("Nothing was imported:") and "**Template file**: cfn-lint" in m
               for m in messages), messages
    assert library.list_templates(portal, actor=teacher) == []
    # What was typed stays, to be corrected.
    assert at.text_input(key=f"{IMPORT}.id").value == "broken-lab"


def test_a_form_without_a_file_or_with_a_built_in_id_is_refused_by_field(
        page, portal, teacher) -> None:
    at = page(teacher)
    at.text_input(key=f"{IMPORT}.id").input("port-lab")
    submit(at, "Import template")
    assert "choose a file to import first" in texts(at.error)

    upload(at, f"{IMPORT}.file", PORT_LAB)
    at.text_input(key=f"{IMPORT}.id").input("web-server")
    submit(at, "Import template")
    assert any("**Template id**: web-server is a built-in template" in m
               for m in texts(at.error)), texts(at.error)
    assert library.list_templates(portal, actor=teacher) == []


def test_a_new_version_replaces_the_form_and_both_versions_are_listed(
        page, portal, teacher) -> None:
    imported(portal)
    at = page(teacher)
    versions = tab(at, "Versions")
    assert [r["version"] for r in versions.dataframe[0].value.to_dict("records")] == [
        "1 (current)"]

    upload(at, "template_import_form.port-lab.version_file", MISSPELT)
    submit(at, "Upload version")
    assert any(m.startswith("No version was added:") for m in texts(at.error))
    assert library.get_template(portal, actor=teacher, template_id="port-lab"
                                ).current_version == 1

    upload(at, "template_import_form.port-lab.version_file", PORT_LAB_V2)
    submit(at, "Upload version")
    assert any(m.startswith("**port-lab** has a new version: version 2") for m in texts(at.success))
    rows = tab(at, "Versions").dataframe[0].value.to_dict("records")
    assert [(r["version"], r["uploaded by"]) for r in rows] == [
        ("2 (current)", "ms-lee"), ("1", "operator")]
    assert all(r["uploaded"].endswith("UTC") for r in rows)
    assert "GroupText" in {r["name"] for r in
                           tab(at, "Parameters").table[0].value.to_dict("records")}
    assert overview(at)[0]["version"] == "2"
    assert portal.catalog.get_template("port-lab").version == 2


def test_details_are_edited_and_the_catalog_reads_them(page, portal, teacher) -> None:
    imported(portal)
    at = page(teacher)
    at.text_input(key="template_manage_form.port-lab.title").input("")
    submit(at, "Save details")
    assert any("**Title**: must not be empty" in m for m in texts(at.error)), texts(at.error)

    at.text_input(key="template_manage_form.port-lab.title").input("Ports, explained")
    at.text_area(key="template_manage_form.port-lab.learning_goals").input("Read an ingress rule.")
    submit(at, "Save details")
    assert "Details saved." in texts(at.success)
    manifest = portal.catalog.get_template("port-lab")
    assert (manifest.title, manifest.learning_goals) == ("Ports, explained",
                                                        ("Read an ingress rule.",))
    assert overview(at)[0]["title"] == "Ports, explained"


def test_courses_are_assigned_and_only_their_students_are_offered_it(
        app, page, portal, teacher) -> None:
    imported(portal, courses=())
    at = page(teacher)
    assert overview(at)[0]["courses"] == "none"
    chosen = at.multiselect(key="template_manage_form.port-lab.course_list")
    assert chosen.options == ["cloud-101"] and chosen.value == []
    chosen.select("cloud-101")
    submit(at, "Save courses")
    assert "Offered in cloud-101." in texts(at.success)
    assert overview(at)[0]["courses"] == "cloud-101"
    assert library.get_template(portal, actor=teacher, template_id="port-lab"
                                ).courses == ("cloud-101",)

    launch = open_page(app(actor_of(portal, "alice")), "launch_page.py")
    # Not in the open default course: it is assigned to cloud-101 only.
    assert launch.selectbox(key="launch_page.course").value == portal.settings.default_course
    assert "port-lab (port-lab)" not in launch.selectbox(key=PICKER_KEY).options
    launch.selectbox(key="launch_page.course").set_value("cloud-101").run()
    assert "port-lab (port-lab)" in launch.selectbox(key=PICKER_KEY).options


def test_retiring_asks_first_and_then_takes_no_new_launches(page, portal, teacher) -> None:
    imported(portal)
    at = page(teacher)
    at.button(key="template_manage_form.port-lab.retire").click().run()
    assert any(m.startswith("Retire **port-lab**?") for m in texts(at.warning))
    at.button(key="template_manage_form.port-lab.cancel_retire").click().run()
    assert not library.get_template(portal, actor=teacher, template_id="port-lab").retired

    at.button(key="template_manage_form.port-lab.retire").click().run()
    submit(at, "Confirm retire port-lab")
    assert "**port-lab** is retired: it takes no new launches." in texts(at.success)
    assert overview(at)[0]["state"].startswith("retired ")
    assert "port-lab" not in {t.id for t in portal.catalog.all_templates()}
    # A retired template is read, no longer changed.
    at.run()
    assert [t.label for t in at.tabs] == ["Parameters", "Versions"]
    assert not any(b.label == "Upload version" for b in at.button)


# -- the students' side ---------------------------------------------------------------------------
def _default_vpc(portal: PortalContext) -> str:
    # Other tests make and remove VPCs on the shared cloud; the default one stays.
    [vpc] = portal.connection.client("ec2").describe_vpcs(
        Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    return vpc["VpcId"]


def _student_launch_page(app, portal):  # type: ignore[no-untyped-def]
    at = open_page(app(actor_of(portal, "alice")), "launch_page.py")
    at.selectbox(key="launch_page.course").set_value("cloud-101").run()
    at.selectbox(key=PICKER_KEY).set_value("port-lab").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_launch_form_has_a_widget_for_every_derived_type(app, portal, teacher) -> None:
    imported(portal)
    at = _student_launch_page(app, portal)
    key = lambda name: field_key("port-lab.v1", name)  # noqa: E731

    assert at.text_input(key=key("LabName")).value == "port-lab"
    assert at.text_input(key=key("LabName")).max_chars == 20
    port = at.number_input(key=key("OpenPort"))
    assert (port.min, port.max, port.value, port.step) == (1, 65535, 80, 1)
    assert at.selectbox(key=key("Protocol")).options == ["tcp", "udp"]
    assert at.text_input(key=key("SourceCidrs")).value == "10.0.0.0/8, 192.168.0.0/16"
    # Picked from what the embedded cloud holds; nothing chosen until the student picks.
    vpc = at.selectbox(key=key("LabVpc"))
    assert any(o.startswith(_default_vpc(portal)) for o in vpc.options) and vpc.value is None
    secret = at.text_input(key=key("LabPassword"))
    assert secret.proto.type == secret.proto.PASSWORD and secret.value == ""
    # Until both are given the launch waits, and says why.
    summary = texts(at.error)[-1]
    assert "**LabVpc**: is required" in summary and "**LabPassword**: is required" in summary
    assert at.button(key="launch_page.launch").disabled


def test_a_student_launches_the_imported_template_and_its_secret_stays_out_of_sight(
        app, portal, teacher) -> None:
    imported(portal)
    at = _student_launch_page(app, portal)
    key = lambda name: field_key("port-lab.v1", name)  # noqa: E731
    at.selectbox(key=key("LabVpc")).set_value(_default_vpc(portal)).run()
    at.text_input(key=key("LabPassword")).input(LAB_PASSWORD).run()
    at.number_input(key=key("OpenPort")).set_value(8080).run()
    assert not at.exception, [e.value for e in at.exception]
    # The rendered parameters show the secret masked, never as typed.
    shown = " ".join(code.value for code in at.code)
    assert LAB_PASSWORD not in shown and SECRET_MASK in shown
    # The browser is never sent the value back: the box's own default stays empty.
    assert at.text_input(key=key("LabPassword")).proto.default == ""

    at.button(key="launch_page.launch").click().run()
    wait_until(at, lambda at: bool(at.success), what="the launch to finish")
    assert "is ready" in plain(texts(at.success)[0])

    [env] = environment_service.list_environments(portal, actor=actor_of(portal, "alice"))
    assert (env.template_id, env.status, env.course) == ("port-lab", "ready", "cloud-101")
    assert env.parameters["OpenPort"] == 8080
    assert env.parameters["LabPassword"] == environment_service.SECRET_NOT_STORED
    assert env.outputs_by_name["SecurityGroupId"].startswith("sg-")
    # Leaving the page forgets what was typed into the password box.
    at.switch_page("../pages/catalog_page.py").run()
    at.switch_page("../pages/launch_page.py").run()
    at.selectbox(key="launch_page.course").set_value("cloud-101").run()
    at.selectbox(key=PICKER_KEY).set_value("port-lab").run()
    assert at.text_input(key=key("LabPassword")).value == ""
    environment_service.destroy(portal, actor=actor_of(portal, "alice"), env_id=env.env_id)


def test_numbers_lists_and_cloud_pickers_get_widgets_of_their_own(app, page, portal,
                                                                  teacher) -> None:
    every = FIXTURES / "every-field.json"
    library.import_template(portal, actor=OPERATOR, template_id="every-field",
                            source=library.TemplateSource.from_upload(every.name,
                                                                      every.read_bytes()))
    # cfn-lint's warning did not refuse it; the instructor reads it beside the derived form.
    notes = page(teacher).expander
    assert any(e.label == "Notes from the checks (1)" for e in notes)

    # Assigned to no course: instructors may still try it, in any course they launch in.
    at = open_page(app(teacher), "launch_page.py")
    at.selectbox(key=PICKER_KEY).set_value("every-field").run()
    assert not at.exception, [e.value for e in at.exception]
    key = lambda name: field_key("every-field.v1", name)  # noqa: E731
    subnets = at.multiselect(key=key("Subnets"))
    assert subnets.options and all(o.startswith("subnet-") for o in subnets.options)
    assert subnets.value == []
    # A type the portal does not list is typed, and the form says so.
    assert at.text_input(key=key("HostedZone")).value == "Z0EXAMPLE1"
    assert "Nothing in the target cloud to pick from: type the AWS::Route53::HostedZone::Id." \
        in texts(at.caption)
    ratio = at.number_input(key=key("Ratio"))
    assert (ratio.min, ratio.max, ratio.value) == (0.0, 1.0, 0.5)
    assert at.text_input(key=key("Weights")).value == "1, 2, 3"
    ports = at.multiselect(key=key("Ports"))
    assert (ports.options, ports.value) == (["80", "443", "8080"], ["80", "443"])
    assert at.selectbox(key=key("Size")).options == ["1", "2", "4"]

    at.multiselect(key=key("Subnets")).select(subnets.options[0]).run()
    at.number_input(key=key("Ratio")).set_value(0.25).run()
    at.text_input(key=key("Weights")).input("5, 8").run()
    at.multiselect(key=key("Ports")).unselect("443").run()
    assert not any(m.startswith("Fix these parameters") for m in texts(at.error)), \
        texts(at.error)
    parameters = next(code.value for code in at.code if '"ParameterKey": "Ratio"' in code.value)
    # Options read "subnet-... 10.0.1.0/24 us-east-1a"; the value is the id alone.
    subnet_id = subnets.options[0].split()[0]
    for name, value in (("Subnets", subnet_id), ("Ratio", "0.25"), ("Weights", "5,8"),
                        ("Ports", "80"), ("HostedZone", "Z0EXAMPLE1")):
        assert f'"ParameterKey": "{name}",\n    "ParameterValue": "{value}"' in parameters


def test_a_course_that_lists_its_built_ins_still_offers_the_templates_assigned_to_it(
        app, portal, teacher) -> None:
    imported(portal)
    courses.update_course(portal, actor=teacher, course_id="cloud-101", templates=["web-server"])
    at = _student_launch_page(app, portal)
    # The course's list narrows the built-ins; the imported template was assigned to it.
    assert at.selectbox(key=PICKER_KEY).options == ["Single web server (web-server)",
                                                    "port-lab (port-lab)"]
    # Its code is CloudFormation only: no Terraform tab to download an empty module from.
    key = lambda name: field_key("port-lab.v1", name)  # noqa: E731
    at.selectbox(key=key("LabVpc")).set_value(_default_vpc(portal)).run()
    at.text_input(key=key("LabPassword")).input(LAB_PASSWORD).run()
    labels = [tab.label for tab in at.tabs]
    assert "CloudFormation" in labels and "Terraform" not in labels


def test_the_catalog_shows_a_student_only_what_their_courses_offer(
        app, portal, teacher) -> None:
    imported(portal, courses=("cloud-202",))
    mine = open_page(app(actor_of(portal, "alice")), "catalog_page.py")
    assert "`port-lab`" not in texts(mine.caption)
    assert "`web-server`" in texts(mine.caption)
    library.assign_courses(portal, actor=OPERATOR, template_id="port-lab",
                           courses=["cloud-101", "cloud-202"])
    portal.catalog.invalidate_imported()
    mine = open_page(app(actor_of(portal, "alice")), "catalog_page.py")
    assert "`port-lab`" in texts(mine.caption)
