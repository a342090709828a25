"""The Catalog lists every template and hands the chosen one to the Launch page."""

from __future__ import annotations

from portal.components.template_card import launch_button_key, parameters_key
from portal.components.template_picker import PICKER_KEY

from tests.pages.conftest import ALICE, open_page, texts


def test_catalog_lists_both_templates_with_their_parameters(app, portal) -> None:
    at = open_page(app(ALICE), "catalog_page.py")
    assert not at.exception
    assert texts(at.title) == ["Catalog"]
    titles = texts(at.subheader)
    for manifest in portal.catalog.all_templates():
        assert manifest.title in titles
        assert at.button(key=launch_button_key(manifest.id)).label == "Launch this"
    assert {"web-server", "three-tier"} <= {t.id for t in portal.catalog.all_templates()}
    # The parameter tables are drawn once their cards' "Parameters" are opened.
    assert not at.table
    for manifest in portal.catalog.all_templates():
        at.session_state[parameters_key(manifest.id)] = True
    at.run()
    assert not at.exception
    tables = [table.value for table in at.table]
    parameter_names = {name for table in tables for name in table["parameter"]}
    assert {"vpc_cidr", "public_subnet_cidr", "instance_type", "db_allocated_storage"} \
        <= parameter_names
    page_text = " ".join(texts(at.markdown))
    assert "You will learn to" in page_text and "Web URL" in page_text


def test_launch_this_opens_the_launch_page_on_that_template(app) -> None:
    at = open_page(app(ALICE), "catalog_page.py")
    at.button(key=launch_button_key("three-tier")).click().run()
    assert not at.exception
    assert texts(at.title) == ["Launch"]
    assert at.selectbox(key=PICKER_KEY).value == "three-tier"

    # And back: another choice in the Catalog replaces the first.
    at.switch_page("../pages/catalog_page.py").run()
    at.button(key=launch_button_key("web-server")).click().run()
    assert at.selectbox(key=PICKER_KEY).value == "web-server"
