"""Babel extraction of the built-in templates' text (the `templates` catalog): what
`catalog_service.localized` translates from each `infra_templates/*/template.yaml`.

Named in `babel.cfg`; `make translations` runs it through `pybabel extract`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml

# The manifest's text a student reads; everything else (names, patterns, defaults) is code.
MANIFEST_TEXT = ("title", "summary")


def extract_manifest(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                     options: dict[str, Any]) -> Iterator[tuple[int, str, str, list[str]]]:
    """Yields (line, funcname, message, comments) as Babel's extractors do, one per text."""
    root = yaml.compose(fileobj.read().decode("utf-8"))
    if not isinstance(root, yaml.MappingNode):
        return
    for key, value in root.value:
        if key.value in MANIFEST_TEXT and isinstance(value, yaml.ScalarNode):
            yield value.start_mark.line + 1, "_", value.value, [f"template {key.value}"]
        elif key.value == "learning_goals" and isinstance(value, yaml.SequenceNode):
            for goal in value.value:
                yield goal.start_mark.line + 1, "_", goal.value, ["learning goal"]
        elif key.value in ("parameters", "outputs") and isinstance(value, yaml.SequenceNode):
            for item in value.value:
                yield from _item_text(item, key.value)


def _item_text(item: yaml.Node, section: str) -> Iterator[tuple[int, str, str, list[str]]]:
    if not isinstance(item, yaml.MappingNode):
        return
    fields = {k.value: v for k, v in item.value}
    name = fields.get("name")
    label = name.value if isinstance(name, yaml.ScalarNode) else "?"
    wanted = ("description", "pattern_message") if section == "parameters" else ("label",)
    for field in wanted:
        node = fields.get(field)
        if isinstance(node, yaml.ScalarNode) and node.value:
            yield node.start_mark.line + 1, "_", node.value, [f"{section} {label} {field}"]
