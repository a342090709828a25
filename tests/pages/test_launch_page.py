"""The Launch page: a form from the manifest, the code it becomes, and a watched launch."""

from __future__ import annotations

import io
import re
import zipfile

from portal.components.code_view import file_key
from portal.components.parameter_form import advanced_key, field_key
from portal.components.template_picker import PICKER_KEY
from services import environment_service
from services.engines.base import EngineName
from services.reconcile_service import reconcile

from tests.pages.conftest import ALICE, TEACHER, open_page, plain, texts, wait_until

LAUNCH = "launch_page.launch"
LEASE = "launch_page.lease_hours"
PREVIEW_TAB = "launch_page.preview"
CODE = "launch_page.code"


def launch_page(app, template_id: str = "web-server"):  # type: ignore[no-untyped-def]
    at = open_page(app(ALICE), "launch_page.py")
    at.selectbox(key=PICKER_KEY).set_value(template_id).run()
    assert not at.exception
    return at


def test_the_form_has_one_widget_per_parameter_chosen_by_type(app, portal) -> None:
    at = launch_page(app, "three-tier")
    manifest = portal.catalog.get_template("three-tier")
    advanced = next(e for e in at.expander if e.label.startswith("Advanced"))
    # Drawn once opened.
    assert not advanced.text_input
    _open(at, **{advanced_key(manifest): True})
    for spec in manifest.parameters:
        key = field_key("three-tier", spec.name)
        if spec.allowed:
            assert at.selectbox(key=key).options == [str(v) for v in spec.allowed]
            assert at.selectbox(key=key).value == spec.default
        elif spec.type == "integer":
            widget = at.number_input(key=key)
            assert (widget.min, widget.max, widget.value) == (spec.min, spec.max, spec.default)
        else:
            assert at.text_input(key=key).value == str(spec.default)
    advanced = next(e for e in at.expander if e.label.startswith("Advanced"))
    advanced_keys = {w.key for w in advanced.text_input}
    assert {field_key("three-tier", s.name) for s in manifest.parameters if s.advanced} \
        == advanced_keys


def _tab(at, label: str):  # type: ignore[no-untyped-def]
    return next(tab for tab in at.tabs if tab.label == label)


def _open(at, **states):  # type: ignore[no-untyped-def]
    """Open tabs and expanders as a click would: only the open ones are drawn."""
    for key, state in states.items():
        at.session_state[key] = state
    at.run()
    assert not at.exception
    return at


def _open_preview_tab(at, label: str):  # type: ignore[no-untyped-def]
    return _open(at, **{PREVIEW_TAB: label})


def test_both_tabs_show_the_rendered_code_and_downloads(app) -> None:
    at = launch_page(app)
    assert [tab.label for tab in at.tabs] == [
        "Terraform", "CloudFormation", "Architecture", "Cost estimate"]
    # A file is drawn once it is picked; your values come first.
    [files] = _tab(at, "Terraform").selectbox
    assert files.options[0] == "terraform.tfvars  (your values)"
    assert files.value is None and not at.code
    _open(at, **{file_key(CODE, EngineName.TERRAFORM): "terraform.tfvars"})
    terraform = _tab(at, "Terraform")
    tf_languages = {code.language for code in terraform.code}
    assert "hcl" in tf_languages
    tfvars = next(code.value for code in terraform.code
                  if re.search(r"^site_title +=", code.value, re.MULTILINE))
    # Laid out as `terraform fmt` writes it: the `=` of neighbouring lines in one column.
    assert re.search(r'^vpc_cidr +=  ?"10\.0\.0\.0/16"$', tfvars, re.MULTILINE)
    assert re.search(r'^  "sandbox:owner" += "alice"$', tfvars, re.MULTILINE)
    downloads = {b.label for b in at.get("download_button")}
    # The other engine's tab is drawn once opened, with your values' file shown first; the
    # template is drawn once picked.
    _open_preview_tab(at, "CloudFormation")
    [values] = _tab(at, "CloudFormation").code
    assert values.language == "json" and '"ParameterKey": "VpcCidr"' in values.value
    _open(at, **{file_key(CODE, EngineName.CLOUDFORMATION): "cloudformation.yaml"})
    [template] = _tab(at, "CloudFormation").code
    assert template.language == "yaml" and "AWSTemplateFormatVersion" in template.value
    downloads |= {b.label for b in at.get("download_button")}
    assert downloads == {"Download Terraform (.zip)", "Download CloudFormation (.zip)"}

    # Typed values reach the code at once.
    at.session_state[PREVIEW_TAB] = "Terraform"
    at.text_input(key=field_key("web-server", "site_title")).input("Alice lab").run()
    tfvars = next(code.value for code in _tab(at, "Terraform").code
                  if re.search(r"^site_title +=", code.value, re.MULTILINE))
    assert re.search(r'^site_title += "Alice lab"$', tfvars, re.MULTILINE)


def test_only_the_open_tab_and_the_open_files_are_drawn(app) -> None:
    at = launch_page(app, "three-tier")
    # The Terraform tab, no file picked: the names only, no code.
    [files] = _tab(at, "Terraform").selectbox
    assert files.label == "File (15)" and len(files.options) == 15 and not _tab(at, "Terraform").expander
    assert not at.code and not at.get("graphviz_chart") and not at.metric
    assert {b.label for b in at.get("download_button")} == {"Download Terraform (.zip)"}

    _open(at, **{file_key(CODE, EngineName.TERRAFORM): "main.tf"})
    [main] = at.code
    assert main.language == "hcl" and "module " in main.value

    _open_preview_tab(at, "Architecture")
    assert at.get("graphviz_chart") and not at.code and not at.metric
    _open_preview_tab(at, "Cost estimate")
    assert at.metric and not at.get("graphviz_chart") and not at.code
    # Back to the code: the file picked before is shown again.
    _open_preview_tab(at, "Terraform")
    assert [c.value for c in at.code] == [main.value]


def test_the_terraform_download_holds_the_module_and_its_tfvars(app, portal) -> None:
    # The bytes the download button serves come from this call; check what is inside them.
    rendered = environment_service.render_template(
        portal, template_id="web-server", parameters={"site_title": "Zip test"})
    with zipfile.ZipFile(io.BytesIO(rendered.terraform_zip())) as archive:
        assert re.search(r'^site_title += "Zip test"$',
                         archive.read("web-server/terraform.tfvars").decode(), re.MULTILINE)
    with zipfile.ZipFile(io.BytesIO(rendered.cloudformation_zip())) as archive:
        assert "SiteTitle" in archive.read("web-server/parameters.json").decode()


def test_a_bad_cidr_shows_its_message_under_the_field_and_blocks_launch(app) -> None:
    at = launch_page(app)
    at.text_input(key=field_key("web-server", "vpc_cidr")).input("10.0.0.0/33").run()
    assert not at.exception
    errors = texts(at.error)
    assert any(e.startswith("is not an IPv4 CIDR block") for e in errors), errors
    summary = next(e for e in errors if e.startswith("Fix these parameters first"))
    assert "**vpc_cidr**: is not an IPv4 CIDR block" in summary
    assert at.button(key=LAUNCH).disabled
    assert not at.tabs
    assert any("Fix the parameters" in plain(i.value) for i in at.info)

    at.text_input(key=field_key("web-server", "vpc_cidr")).input("10.0.0.0/16").run()
    assert not at.error
    assert not at.button(key=LAUNCH).disabled


def test_a_subnet_outside_the_vpc_is_refused(app) -> None:
    at = launch_page(app)
    at.text_input(key=field_key("web-server", "public_subnet_cidr")).input("192.168.1.0/24").run()
    assert any("is not inside vpc_cidr" in e for e in texts(at.error))


def test_reset_brings_back_the_defaults(app) -> None:
    at = launch_page(app)
    at.text_input(key=field_key("web-server", "site_title")).input("Changed").run()
    at.button(key="parameter_form.web-server.reset").click().run()
    assert at.text_input(key=field_key("web-server", "site_title")).value \
        == "Hello from my sandbox"


def test_launch_web_server_and_watch_it_become_ready(app, portal) -> None:
    at = launch_page(app)
    at.text_input(key=field_key("web-server", "site_title")).input("Launched from a test").run()
    at.number_input(key=LEASE).set_value(6).run()
    at.button(key=LAUNCH).click().run()
    assert not at.exception

    wait_until(at, lambda at: bool(at.success), what="the launch to finish")
    assert "is ready" in texts(at.success)[0]
    status = at.status[0]
    assert "succeeded" in status.label and status.state == "complete"

    [env] = environment_service.list_environments(portal, actor=ALICE)
    assert env.status == "ready" and env.owner == "alice"
    assert env.parameters["site_title"] == "Launched from a test"
    assert env.lease_hours == 6
    url = env.outputs_by_name["web_url"]
    assert url.startswith("http://")
    assert any(url in m for m in texts(at.markdown))
    assert at.get("page_link")[0].proto.label == "Go to My environments"


def test_a_launch_after_the_embedded_cloud_restarted_reaches_the_new_cloud(app, portal) -> None:
    from services.clouds import embedded

    earlier = environment_service.launch(portal, actor=ALICE, template_id="web-server",
                                         parameters={})
    embedded.stop(portal.settings)  # what `sandbox cloud stop` or a crash of the emulator does

    at = launch_page(app)
    at.button(key=LAUNCH).click().run()
    wait_until(at, lambda at: bool(at.success) or bool(at.status and at.status[0].state == "error"),
               what="the launch to finish")
    assert texts(at.success), [s.label for s in at.status]
    # The environment of the stopped emulator is found lost by the next reconcile (My environments
    # runs one on every load); the new launch went to the emulator running now.
    reconcile(portal)
    statuses = {e.env_id: e.status for e in environment_service.list_environments(portal,
                                                                                  actor=ALICE)}
    assert statuses.pop(earlier.env_id) == "lost"
    assert list(statuses.values()) == ["ready"]


def test_the_advisor_warns_on_the_page_and_an_error_blocks_launch(app) -> None:
    at = launch_page(app, "ha-web")
    assert not at.button(key=LAUNCH).disabled
    warnings = " ".join(texts(at.warning))
    assert "ADV001" in warnings and "t3.micro" in warnings  # credits drained by the CPU target
    assert "ADV004" in warnings  # a single-AZ database

    at = launch_page(app, "web-server")
    at.text_input(key=field_key("web-server", "ssh_cidr")).input("0.0.0.0/0").run()
    assert at.button(key=LAUNCH).disabled
    assert any("ADV003" in e for e in texts(at.error))


def test_the_architecture_tab_draws_the_templates_resources(app) -> None:
    at = _open_preview_tab(launch_page(app, "three-tier"), "Architecture")
    [chart, *_] = _tab(at, "Architecture").get("graphviz_chart")
    dot = chart.proto.spec
    assert dot.startswith("digraph") and "cluster_data" in dot
    assert "Database" in dot and "WebServer" in dot


def test_the_cost_tab_follows_the_lease_and_the_region(app) -> None:
    at = _open_preview_tab(launch_page(app, "three-tier"), "Cost estimate")
    cost = _tab(at, "Cost estimate")
    metrics = {m.label: m.value for m in cost.metric}
    per_hour = float(metrics["Per hour"].lstrip("$").replace(",", ""))
    assert metrics["For the lease (4 hours)"] == f"${4 * per_hour:,.3f}"

    at.number_input(key=LEASE).set_value(10).run()
    metrics = {m.label: m.value for m in _tab(at, "Cost estimate").metric}
    assert "For the lease (10 hours)" in metrics

    at.get("button_group")[0].set_value("ap-northeast-2").run()
    seoul = {m.label: m.value for m in _tab(at, "Cost estimate").metric}
    assert float(seoul["Per hour"].lstrip("$")) > per_hour


def _course_for_alice(portal, **limits):  # type: ignore[no-untyped-def]
    from services import accounts, courses
    from services.identity import Actor, Role

    operator = Actor("operator", Role.INSTRUCTOR, is_admin=True)
    accounts.create_account(portal, actor=operator, name="alice", role="student")
    courses.create_course(portal, actor=operator, course_id="cloud101", title="Cloud 101",
                          **limits)
    courses.enrol(portal, actor=operator, course_id="cloud101", names=["alice"])


def test_a_single_course_is_named_not_offered_in_a_picker(app) -> None:
    for actor, named in ((ALICE, "Course **default**: up to 3 environments at once"),
                         (TEACHER, "Course **Default course**.")):
        at = open_page(app(actor), "launch_page.py")
        assert not at.exception
        assert not [s for s in at.selectbox if s.key == "launch_page.course"]
        assert named in " ".join(texts(at.caption))


def test_a_course_narrows_the_templates_and_sizes_the_form_offers(app, portal) -> None:
    _course_for_alice(portal, templates=["web-server", "three-tier"],
                      instance_types=["t3.micro", "t3.small"], db_classes=["db.t3.micro"],
                      max_lease_hours=6)
    at = open_page(app(ALICE), "launch_page.py")
    assert at.selectbox(key="launch_page.course").options == ["Default course", "Cloud 101"]
    at.selectbox(key="launch_page.course").set_value("cloud101").run()
    assert {option.rsplit("(", 1)[-1].rstrip(")")
            for option in at.selectbox(key=PICKER_KEY).options} == {"web-server", "three-tier"}
    at.selectbox(key=PICKER_KEY).set_value("three-tier").run()
    assert at.selectbox(key=field_key("three-tier", "instance_type")).options == [
        "t3.micro", "t3.small"]
    assert at.selectbox(key=field_key("three-tier", "db_instance_class")).options == [
        "db.t3.micro"]
    assert at.number_input(key=LEASE).max == 6
    assert "Cloud 101" in " ".join(texts(at.caption)) or "cloud101" in " ".join(
        texts(at.caption))


def test_a_refused_launch_names_the_limit_and_records_nothing(app, portal) -> None:
    _course_for_alice(portal, budget_usd=0.01)
    at = open_page(app(ALICE), "launch_page.py")
    at.selectbox(key="launch_page.course").set_value("cloud101").run()
    at.selectbox(key=PICKER_KEY).set_value("web-server").run()
    at.button(key=LAUNCH).click().run()
    assert not at.exception
    refusal = " ".join(texts(at.error))
    assert "refused by the course limit 'budget'" in refusal and "$0.01" in refusal
    assert environment_service.list_environments(portal, actor=ALICE) == []


def test_terraform_is_offered_beside_cloudformation_and_says_why_it_cannot_deploy(app) -> None:
    at = launch_page(app)
    picker = at.radio(key="launch_page.engine")
    assert picker.options == ["CloudFormation", "Terraform (unavailable)"]
    assert picker.value == "cloudformation"
    assert not at.button(key="launch_page.launch").disabled
    picker.set_value(EngineName.TERRAFORM).run()
    warning = " ".join(w.value for w in at.warning)
    assert "Terraform cannot deploy this template here" in warning
    assert "providers mirror" in warning
    assert at.button(key="launch_page.launch").disabled


def test_the_page_says_where_launches_go(app) -> None:
    at = launch_page(app)
    assert any("Launches go to the embedded cloud (us-east-1)" in plain(c.value) for c in at.caption)


def test_a_target_that_cannot_be_used_says_why_and_disables_launch(
        app, no_aws_credentials, monkeypatch) -> None:
    from portal.ui_context import portal_context
    from services import context as context_module
    from services import settings as settings_module

    monkeypatch.setenv("PORTAL_CLOUD", "aws")
    settings_module.get_settings.cache_clear()
    context_module._context = None
    portal_context.clear()
    at = launch_page(app)
    error = " ".join(plain(e.value) for e in at.error)
    assert "Launches go to AWS (us-east-1), which cannot be used now" in error
    assert "aws sso login" in error
    assert at.button(key="launch_page.launch").disabled
