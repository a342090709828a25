"""No page or component hands Streamlit an English text that skips the catalogs.

Every label, heading, message and help text a page draws goes through `_()` (services/i18n.py),
so that test_catalogs.py sees it and Korean readers get it in Korean. This reads the UI's source
and lists the Streamlit calls given a bare English literal or f-string."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI_SOURCES = sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("portal/*.py"),
                     *ROOT.glob("portal/components/*.py")])
# Streamlit calls whose first argument (or the keywords below) a person reads.
TEXT_CALLS = {
    "title", "header", "subheader", "caption", "markdown", "info", "success", "warning", "error",
    "toast", "button", "form_submit_button", "download_button", "link_button", "page_link",
    "text_input", "text_area", "number_input", "selectbox", "multiselect", "radio", "checkbox",
    "toggle", "slider", "select_slider", "date_input", "time_input", "file_uploader",
    "segmented_control", "pills", "expander", "popover", "status", "spinner", "metric", "Page",
    "dialog", "TextColumn", "NumberColumn", "DatetimeColumn", "LinkColumn", "CheckboxColumn",
    "ProgressColumn", "SelectboxColumn", "ListColumn", "Column", "DateColumn",
}
TEXT_KEYWORDS = {"label", "help", "placeholder", "title", "caption", "text", "body",
                 "value_label", "empty_text"}
# Two letters in a row: a word someone reads (a lone "x" or a unit sign is not).
WORD = re.compile(r"[A-Za-z]{2,}")
# Literal parts that are markup, an icon or a name, not words: ":material/rocket:", ":red[",
# "`...`" code, the product's own name.
NOT_WORDS = re.compile(r":material/[a-z_]+:|:[a-z]+\[|`[^`]*`|https?://\S+|\{[^}]*\}|Sandbox Portal")
# Whoever these are called on writes to the server's log, which stays English.
LOGGERS = {"logger", "log", "logging", "_log", "LOGGER"}


def reads_as_words(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORD.search(NOT_WORDS.sub("", node.value)))
    if isinstance(node, ast.JoinedStr):
        return any(reads_as_words(part) for part in node.values
                   if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return reads_as_words(node.left) or reads_as_words(node.right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(reads_as_words(element) for element in node.elts)
    return False


def bare_texts(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr not in TEXT_CALLS and node.func.attr != "tabs":
            continue
        if isinstance(node.func.value, ast.Name) and node.func.value.id in LOGGERS:
            continue
        shown = list(node.args[:1]) + [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
        for argument in shown:
            if reads_as_words(argument):
                found.append(f"{path.relative_to(ROOT)}:{argument.lineno}: "
                             f"{ast.unparse(argument)[:70]}")
    return found


def test_every_text_the_ui_draws_goes_through_the_catalogs() -> None:
    found = [line for path in UI_SOURCES for line in bare_texts(path)]
    assert not found, (f"{len(found)} texts drawn without _() (wrap them, then "
                       f"`make translations`):\n" + "\n".join(found))
