"""Text helpers: markdown escaping and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.components.text import ago, duration, md_code, md_escape, until


def test_md_escape_keeps_names_and_reasons_literal() -> None:
    assert md_escape("a_b *c* [x](y) $1 :red[z]") == \
        r"a\_b \*c\* \[x\]\(y\) \$1 \:red\[z\]"


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0.42, "0.4 s"), (12.4, "12 s"), (185, "3 min 05 s"), (3725, "1 h 02 min")])
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_ago() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert ago(now - timedelta(seconds=5), now) == "just now"
    assert ago(now - timedelta(minutes=7), now) == "7 min ago"
    assert ago(now - timedelta(hours=3), now) == "3 h ago"



@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=-5), "now"), (timedelta(seconds=20), "in 1 min"),
    (timedelta(minutes=42), "in 42 min"), (timedelta(hours=3, minutes=5), "in 3 h 5 min"),
    (timedelta(days=2, hours=4), "in 2 d 4 h")])
def test_until(delta: timedelta, text: str) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert until(now + delta, now) == text


@pytest.mark.parametrize(("text", "shown"), [
    ("arn:aws:sts::123456789012:user/moto", "`arn:aws:sts::123456789012:user/moto`"),
    ("a`b", "``a`b``"),
    ("`edge`", "`` `edge` ``"),
])
def test_md_code_shows_an_identity_literally(text: str, shown: str) -> None:
    # No backslash escapes: inside a code span they would be shown as they are.
    assert md_code(text) == shown
    assert "\\" not in md_code(text)
