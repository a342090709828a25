"""Timestamps read by the portal's boto3 clients: fast for ISO 8601, and always in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from botocore.utils import parse_timestamp

from services.clouds import new_session, parse_aws_timestamp


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-23T13:55:05.923Z", datetime(2026, 11, 23, 13, 55, 5, 923000, tzinfo=UTC)),
    ("2026-11-23T13:55:05+09:00",
     datetime(2026, 11, 23, 13, 55, 5, tzinfo=timezone(timedelta(hours=9)))),
    # The embedded cloud writes UTC without a zone.
    ("2026-11-23T13:55:05.123456", datetime(2026, 11, 23, 13, 55, 5, 123456, tzinfo=UTC)),
    ("Mon, 23 Nov 2026 13:55:05 GMT", datetime(2026, 11, 23, 13, 55, 5, tzinfo=UTC)),
    (1795442105, datetime(2026, 11, 23, 13, 55, 5, tzinfo=UTC)),
])
def test_timestamps_parse_to_the_same_moment_as_botocore_would(text: object,
                                                                expected: datetime) -> None:
    parsed = parse_aws_timestamp(text)
    assert parsed == expected and parsed.tzinfo is not None
    if not (isinstance(text, str) and text.endswith("123456")):
        assert parsed == parse_timestamp(text)


def test_clients_of_a_new_session_use_it() -> None:
    session = new_session(region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="y")
    factory = session._session.get_component("response_parser_factory")
    assert factory._defaults["timestamp_parser"] is parse_aws_timestamp
    with pytest.raises(ValueError):
        parse_aws_timestamp("not a time")
