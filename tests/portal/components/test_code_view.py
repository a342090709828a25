"""Which highlighter each rendered file gets."""

from __future__ import annotations

import pytest

from portal.components.code_view import language_of


@pytest.mark.parametrize(("path", "language"), [
    ("main.tf", "hcl"), ("terraform.tfvars", "hcl"), ("modules/db/variables.tf", "hcl"),
    ("user_data.sh.tftpl", "bash"), ("cloudformation.yaml", "yaml"), ("parameters.json", "json"),
    ("README", None)])
def test_language_of(path: str, language: str | None) -> None:
    assert language_of(path) == language
