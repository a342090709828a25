"""The parameter form picks a widget per parameter type and shows the services' messages."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from portal.components.parameter_form import advanced_key, field_key
from services.catalog_service import TemplateManifest

MANIFEST = {
    "id": "demo", "title": "Demo", "summary": "Every parameter type once.",
    "parameters": [
        {"name": "size", "type": "string", "default": "small", "description": "Size",
         "allowed": ["small", "large"]},
        {"name": "disk_gb", "type": "integer", "default": 20, "min": 8, "max": 100,
         "description": "Disk"},
        {"name": "public", "type": "boolean", "default": True, "description": "Public"},
        {"name": "vpc_cidr", "type": "cidr", "default": "10.0.0.0/16", "description": "VPC"},
        {"name": "title", "type": "string", "default": "Hi", "description": "Title",
         "max_length": 20, "advanced": True},
    ],
    "outputs": [{"name": "url", "label": "URL", "kind": "url"}],
}


def form_app(manifest: dict, errors: dict) -> None:
    import streamlit as st

    from portal.components.parameter_form import parameter_form
    from services.catalog_service import TemplateManifest

    form = parameter_form(TemplateManifest.model_validate(manifest))
    form.show_errors(errors)
    st.session_state["test.values"] = form.values


def run(errors: dict | None = None) -> AppTest:
    return AppTest.from_function(form_app, args=(MANIFEST, errors or {})).run()


def test_one_widget_per_type() -> None:
    at = run()
    assert not at.exception
    assert at.selectbox(key=field_key("demo", "size")).options == ["small", "large"]
    disk = at.number_input(key=field_key("demo", "disk_gb"))
    assert (disk.min, disk.max, disk.value) == (8, 100, 20)
    assert at.checkbox(key=field_key("demo", "public")).value is True
    assert at.text_input(key=field_key("demo", "vpc_cidr")).value == "10.0.0.0/16"
    [advanced] = at.expander
    assert advanced.label == "Advanced (1)"
    # Closed, the Advanced section draws nothing, and its fields keep their defaults.
    assert not advanced.text_input
    assert at.session_state["test.values"] == {
        "size": "small", "disk_gb": 20, "public": True, "vpc_cidr": "10.0.0.0/16", "title": "Hi"}
    at = open_advanced(at)
    [advanced] = at.expander
    assert [w.key for w in advanced.text_input] == [field_key("demo", "title")]
    assert at.text_input(key=field_key("demo", "title")).max_chars == 20


def open_advanced(at: AppTest) -> AppTest:
    """Open the Advanced section as a click would."""
    at.session_state[advanced_key(TemplateManifest.model_validate(MANIFEST))] = True
    return at.run()


def test_a_closed_advanced_section_keeps_what_was_typed_in_it() -> None:
    at = open_advanced(run())
    at.text_input(key=field_key("demo", "title")).input("Typed").run()
    at.session_state[advanced_key(TemplateManifest.model_validate(MANIFEST))] = False
    at.run()
    assert not at.exception and not at.expander[0].text_input
    assert at.session_state["test.values"]["title"] == "Typed"
    # Opened again, the field shows it.
    at = open_advanced(at)
    assert at.text_input(key=field_key("demo", "title")).value == "Typed"
    assert at.session_state["test.values"]["title"] == "Typed"


def test_values_follow_the_widgets() -> None:
    at = run()
    at.selectbox(key=field_key("demo", "size")).set_value("large")
    at.number_input(key=field_key("demo", "disk_gb")).set_value(50)
    at.checkbox(key=field_key("demo", "public")).uncheck()
    at.text_input(key=field_key("demo", "vpc_cidr")).input("10.1.0.0/16")
    at.run()
    assert at.session_state["test.values"] == {
        "size": "large", "disk_gb": 50, "public": False, "vpc_cidr": "10.1.0.0/16",
        "title": "Hi"}


def test_errors_show_under_their_field_and_in_a_summary() -> None:
    at = run({"title": "contains characters that are not allowed here: $ {",
              "colour": "unknown parameter"})
    # The Advanced section is closed: its field's message is in the summary only ...
    assert not at.expander[0].error
    at = open_advanced(at)
    messages = [e.value for e in at.error]
    # ... and once it is open, under the field too ...
    assert [e.value for e in at.expander[0].error] == [
        r"contains characters that are not allowed here\: \$ \{"]
    # ... and all of them under the form, unknown fields included.
    summary = messages[-1]
    assert summary.startswith("Fix these parameters first")
    assert r"**title**" in summary and r"**colour**: unknown parameter" in summary


def test_an_advanced_secret_is_drawn_with_the_section_closed() -> None:
    """A secret is never kept, so a closed Advanced section would drop what was typed in it."""
    manifest = {**MANIFEST, "parameters": [
        *MANIFEST["parameters"],
        {"name": "db_password", "type": "string", "secret": True, "default": None,
         "description": "Password", "advanced": True}]}
    at = AppTest.from_function(form_app, args=(manifest, {})).run()
    assert not at.exception
    [advanced] = at.expander
    assert advanced.label == "Advanced (1)" and not advanced.text_input
    password = at.text_input(key=field_key("demo", "db_password"))
    password.input("s3cret-Passw0rd").run()
    assert at.session_state["test.values"]["db_password"] == "s3cret-Passw0rd"
