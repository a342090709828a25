"""Students see readable reasons or an incident id; the server's log holds the detail under it."""

from __future__ import annotations

import logging
import re
import uuid

import pytest

from services.incidents import Incident, record_incident, student_text

PUBLIC = re.compile(r"^Something went wrong on the portal's side \(incident ([0-9a-f]{8})\)\. "
                    r"Your instructor can look it up\.$")
ACCOUNT = "123456789012"


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="services.incidents")
    return caplog


def where() -> str:
    """A context of its own: a stored text is logged once per process and context."""
    return f"environment {uuid.uuid4().hex[:6]} status"


# -- record_incident ---------------------------------------------------------------------------
def test_an_exception_is_logged_in_full_under_the_id_the_student_sees(
        log: pytest.LogCaptureFixture) -> None:
    try:
        {}["StackId"]
    except KeyError as exc:
        incident = record_incident(exc, context="page Launch for alice (student)")
    [shown_id] = PUBLIC.match(incident.public_message()).groups()  # type: ignore[union-attr]
    assert shown_id == incident.incident_id
    assert incident.summary == "KeyError: 'StackId'"
    assert incident.detail.startswith("Traceback (most recent call last):")
    [record] = log.records
    assert record.levelno == logging.ERROR and record.incident_id == incident.incident_id
    lines = record.getMessage().splitlines()
    assert lines[0] == (f"incident {incident.incident_id} in page Launch for alice (student): "
                        "KeyError: 'StackId'")
    # Every line carries the id: a log shipped line by line still gives the whole traceback.
    assert all(line.startswith(f"incident {incident.incident_id}") for line in lines)
    assert any("test_incidents.py" in line for line in lines)


def test_each_incident_gets_its_own_short_id(log: pytest.LogCaptureFixture) -> None:
    ids = {record_incident("boom", context="test").incident_id for _ in range(50)}
    assert len(ids) == 50 and all(re.fullmatch(r"[0-9a-f]{8}", i) for i in ids)


def test_a_text_incident_keeps_its_text(log: pytest.LogCaptureFixture) -> None:
    incident = record_incident("first line\nsecond line", context="cli")
    assert isinstance(incident, Incident)
    assert (incident.summary, incident.detail) == ("first line", "first line\nsecond line")
    assert f"incident {incident.incident_id} | second line" in log.text


# -- student_text ------------------------------------------------------------------------------
KEPT = {
    "timed out": "launch timed out: no result by its deadline; destroy it to remove what it made",
    "clean-up left": "launch failed; clean-up left 2 resources: destroy it to retry",
    "stack timed out": "timed out: stack still CREATE_IN_PROGRESS at its deadline",
    "resource reason": "ROLLBACK_COMPLETE: WebServerSG (AWS::EC2::SecurityGroup): CREATE_FAILED "
                       "subnet CIDR 10.0.9.0/24 not in VPC 10.0.0.0/16",
    "aws validation": "ValidationError: Template format error: Unresolved resource dependencies "
                      "[Foo] in the Resources block of the template",
    "aws throttling": "Throttling: Rate exceeded",
    "leftovers": "destroy failed: 2 resources remain after destroy: AWS::EC2::VPC vpc-0abc, "
                 "AWS::EC2::InternetGateway igw-1; destroy again to retry",
    "lost": "stack sbx-abc123 no longer exists in the cloud account",
    "instance type": "WebServer (AWS::EC2::Instance): t3.micro is not supported in us-east-1e",
}


@pytest.mark.parametrize("text", KEPT.values(), ids=KEPT.keys())
def test_the_portals_own_and_cloudformations_reasons_are_shown_as_they_are(
        text: str, log: pytest.LogCaptureFixture) -> None:
    assert student_text(text, context=where()) == text
    assert not log.records


WHOLLY_RAW = {
    "portal error": "portal error: ClientError: An error occurred (AccessDenied) when calling the "
                    f"CreateStack operation: User: arn:aws:iam::{ACCOUNT}:user/portal is not "
                    "authorized",
    "python exception": 'EndpointConnectionError: Could not connect to the endpoint URL: '
                        '"http://localstack:4566/"',
    "qualified name": "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is "
                      "locked",
    "traceback": "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'a'",
}


@pytest.mark.parametrize("text", WHOLLY_RAW.values(), ids=WHOLLY_RAW.keys())
def test_raw_exception_text_becomes_the_incident_message(
        text: str, log: pytest.LogCaptureFixture) -> None:
    context = where()
    shown = student_text(text, context=context)
    [incident_id] = PUBLIC.match(shown).groups()  # type: ignore[union-attr]
    [record] = log.records
    assert record.levelno == logging.WARNING
    # The log has the id, where the text is stored, and the whole text.
    assert f"incident {incident_id} in {context}: " in record.getMessage()
    assert text.splitlines()[-1] in record.getMessage()


PARTLY_RAW = {
    "crash, then clean-up left": (
        "portal error: KeyError: 'StackId'; clean-up left 2 resources: destroy it to retry",
        "an error on the portal's side; clean-up left 2 resources: destroy it to retry"),
    "clean-up crashed": (
        "launch failed; clean-up failed (EndpointConnectionError: Could not connect to the "
        'endpoint URL: "http://127.0.0.1:5000/"): destroy it to retry',
        "launch failed; clean-up failed (an error on the portal's side): destroy it to retry"),
    "destroy crashed": (
        "destroy failed: portal error: ConnectTimeoutError: Connect timeout on endpoint URL: "
        '"https://cloudformation.us-east-1.amazonaws.com/"; destroy again to retry',
        "destroy failed: an error on the portal's side; destroy again to retry"),
    "aws reason with arns": (
        f"AccessDenied: User: arn:aws:iam::{ACCOUNT}:user/portal is not authorized to perform: "
        f"cloudformation:CreateStack on resource: arn:aws:cloudformation:us-east-1:{ACCOUNT}:"
        "stack/sbx-abc/*",
        "AccessDenied: User: [hidden] is not authorized to perform: cloudformation:CreateStack on "
        "resource: [hidden]"),
    "account id": (f"Bucket (AWS::S3::Bucket): owned by account {ACCOUNT}",
                   "Bucket (AWS::S3::Bucket): owned by account [hidden]"),
    "worker host": ("interrupted: the portal process running it (portal-vm-3:12345) stopped",
                    "interrupted: the portal process running it ([hidden]) stopped"),
    "endpoint host": ("Db (AWS::RDS::DBInstance): cannot reach db.internal.example.edu",
                      "Db (AWS::RDS::DBInstance): cannot reach [hidden]"),
    "access key": ("Stack: signed with AKIAIOSFODNN7EXAMPLE, denied",
                   "Stack: signed with [hidden], denied"),
}


@pytest.mark.parametrize(("text", "readable"), PARTLY_RAW.values(), ids=PARTLY_RAW.keys())
def test_readable_parts_are_kept_and_raw_parts_replaced(
        text: str, readable: str, log: pytest.LogCaptureFixture) -> None:
    context = where()
    shown = student_text(text, context=context)
    match = re.fullmatch(re.escape(readable) + r" \(incident ([0-9a-f]{8}): your instructor can "
                                               r"look it up\)", shown)
    assert match, shown
    assert ACCOUNT not in shown and "arn:aws" not in shown and "://" not in shown
    assert f"incident {match.group(1)} in {context}: {text}" in log.text


def test_a_stored_text_keeps_its_id_and_is_logged_once_per_process(
        log: pytest.LogCaptureFixture) -> None:
    text, context = "portal error: KeyError: 'StackId'", where()
    shown = {student_text(text, context=context) for _ in range(5)}
    assert len(shown) == 1 and len(log.records) == 1
    # The same failure stored elsewhere is another incident.
    assert student_text(text, context=where()) not in shown
