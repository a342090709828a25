"""The built-in templates and the advisor's findings in Korean.

A built-in template's text (title, summary, learning goals, parameter descriptions, output
labels) is translated where it is shown, through `catalog_service.localized` and the `templates`
catalog; everything the portal computes from the manifest (validation, the rendered code) keeps
using the manifest itself. An imported template's text is its instructor's and stays as written.
The advisor writes its findings in the language of the moment, and keeps reports per language.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from services import i18n
from services.advisor import AdvisorReport, advise
from services.catalog_service import TemplateManifest, localized
from services.render_service import portal_tags, render, validate_parameters
from tests.templates_support import catalog

HANGUL = re.compile(r"[\uac00-\ud7a3]")
REGION = "ap-northeast-2"
BUILT_IN = [t.id for t in catalog().built_in_templates()]


def manifest_of(template_id: str) -> TemplateManifest:
    return catalog().get_template(template_id)


def texts(manifest: TemplateManifest) -> dict[str, str]:
    """Every text of a manifest a student reads, by where it is."""
    found = {"title": manifest.title, "summary": manifest.summary}
    found |= {f"learning goal {i}": goal for i, goal in enumerate(manifest.learning_goals)}
    for parameter in manifest.parameters:
        found[f"{parameter.name} description"] = parameter.description
        if parameter.pattern_message:
            found[f"{parameter.name} pattern message"] = parameter.pattern_message
    found |= {f"{output.name} label": output.label for output in manifest.outputs}
    return found


def code_fields(manifest: TemplateManifest) -> dict[str, Any]:
    """The manifest without the texts `localized` translates: what validation and rendering
    read."""
    data = manifest.model_dump(exclude={"title", "summary", "learning_goals"})
    for parameter in data["parameters"]:
        parameter.pop("description")
        parameter.pop("pattern_message")
    for output in data["outputs"]:
        output.pop("label")
    return data | {"folder": manifest.folder, "version": manifest.version}


def rendered_code(manifest: TemplateManifest) -> tuple[Any, ...]:
    values = validate_parameters(manifest, {})
    rendered = render(manifest, values,
                      cloudformation_text=catalog().cloudformation_text(manifest.id),
                      region=REGION,
                      tags=portal_tags(env_id="e1", owner="alice", template_id=manifest.id))
    return (values, rendered.cloudformation_template, rendered.cloudformation_parameters,
            rendered.terraform_files)


@pytest.fixture(autouse=True)
def _compiled_catalogs() -> None:
    # The catalogs are read once per process; `make test` compiles them before any test runs.
    i18n.translations.cache_clear()


def test_the_built_in_templates_are_all_checked_here() -> None:
    assert {"web-server", "three-tier", "ha-web"} <= set(BUILT_IN)


@pytest.mark.parametrize("template_id", BUILT_IN)
def test_every_text_of_a_built_in_template_reads_in_korean(template_id: str) -> None:
    manifest = manifest_of(template_id)
    with i18n.use_locale("ko"):
        korean = texts(localized(manifest))
    english = texts(manifest)
    assert korean.keys() == english.keys()
    untranslated = {where: text for where, text in korean.items() if not HANGUL.search(text)}
    assert not untranslated, f"{template_id}: shown in English under ko: {untranslated}"
    # Each text is its own translation, not one text shown for another.
    assert all(korean[where] != english[where] for where in english)


@pytest.mark.parametrize("template_id", BUILT_IN)
def test_in_english_a_built_in_template_is_the_manifest_itself(template_id: str) -> None:
    manifest = manifest_of(template_id)
    assert localized(manifest) is manifest  # nobody's language set: the CLI, the workers
    with i18n.use_locale("en"):
        assert localized(manifest) is manifest
    with i18n.use_locale("ko"):
        localized(manifest)
    # Translating left the catalog's manifest as it was.
    assert texts(manifest_of(template_id)) == texts(manifest)
    assert not HANGUL.search(manifest.model_dump_json())


@pytest.mark.parametrize("template_id", BUILT_IN)
def test_an_imported_template_is_never_translated(template_id: str) -> None:
    # The same text as a built-in, but an instructor's import (a manifest with a version):
    # shown as its instructor wrote it, even where the catalog knows a translation.
    imported = manifest_of(template_id).model_copy(update={"version": 3})
    assert imported.imported
    with i18n.use_locale("ko"):
        shown = localized(imported)
    assert shown is imported
    assert texts(shown) == texts(manifest_of(template_id))


@pytest.mark.parametrize("template_id", BUILT_IN)
def test_validation_and_rendering_use_the_manifest_itself(template_id: str) -> None:
    manifest = manifest_of(template_id)
    english = rendered_code(manifest)
    with i18n.use_locale("ko"):
        shown = localized(manifest)
        # The catalog hands out the manifest itself; only what is shown is translated.
        assert catalog().get_template(template_id).title == manifest.title
        korean = rendered_code(manifest)
        from_shown = rendered_code(shown)
    assert code_fields(shown) == code_fields(manifest)
    assert korean == english
    assert from_shown == english


def _ssh_open(report: AdvisorReport) -> list[Any]:
    return [f for f in report.by_rule("ADV003") if f.source == "cloudformation"]


def _advise_web_server(**parameters: Any) -> AdvisorReport:
    manifest = manifest_of("web-server")
    values = validate_parameters(manifest, parameters)
    rendered = render(manifest, values,
                      cloudformation_text=catalog().cloudformation_text("web-server"),
                      region=REGION,
                      tags=portal_tags(env_id="e1", owner="alice", template_id="web-server"))
    return advise(rendered, manifest=manifest, values=values, region=REGION)


def test_an_advisor_finding_reads_in_korean_and_stays_english_outside() -> None:
    english = _advise_web_server(ssh_cidr="0.0.0.0/0")
    with i18n.use_locale("ko"):
        korean = _advise_web_server(ssh_cidr="0.0.0.0/0")
        # The summary line is written when it is asked for, in the language of that moment.
        summary = korean.grouped_summary()
    # The same report computed from the same template: the English one was made first and is
    # kept, so a report shared between languages would show English here.
    [finding] = _ssh_open(korean)
    assert HANGUL.search(finding.message), finding.message
    assert "0.0.0.0/0" in finding.message and "SSH" in finding.message
    assert HANGUL.search(finding.fix), finding.fix
    assert HANGUL.search(summary), summary
    assert finding.rule_id == "ADV003" and finding.severity.value == "error"
    assert korean.blocks_launch and english.blocks_launch
    # Same findings either way; only their words differ.
    assert [(f.rule_id, f.severity, f.source, f.resource) for f in korean.findings] == \
        [(f.rule_id, f.severity, f.source, f.resource) for f in english.findings]

    # And a Korean report, now kept, is never handed to an English reader (the CLI).
    again = _advise_web_server(ssh_cidr="0.0.0.0/0")
    assert [f.to_json() for f in again.findings] == [f.to_json() for f in english.findings]
    assert _ssh_open(again)[0].message.endswith(
        "from 0.0.0.0/0: anyone on the internet can try to log in.")
    assert not any(HANGUL.search(f.message + f.fix) for f in again.findings)
    assert again.grouped_summary() == english.grouped_summary()
    assert english.grouped_summary().startswith("1 error blocks launch")
