"""Errors as a student sees them and as the server's log keeps them.

A student sees a short message with an incident id; the whole detail (exception text, traceback,
ARNs, account ids, endpoints) goes to the server's log under that id, where the instructor or the
administrator finds it with `grep 'incident 3f9a2c1b'`. Raw error text says nothing a student can
act on, and it names the portal's account, roles and endpoints, which are not theirs to know.

Two ways in:

- `record_incident`: something broke just now (an exception escaping a page). It gets a random id
  and is logged once, at ERROR.
- `student_text`: a stored error text (a run's error, an environment's status reason) about to be
  shown again on every refresh. The portal's own readable reasons and CloudFormation's resource
  reasons are kept; raw exception text is replaced by the incident message and identifiers are
  hidden. Its id is derived from the text and where it is stored, so one failure keeps one id on
  every refresh and for every viewer; it is logged, at WARNING, the first time this process shows
  it, so an id on the screen is always in the current log.

Every detail line of the log carries the id, so a log shipped line by line (journald, a container
runtime) still gives the whole detail to a grep for the id.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import re
import secrets
import threading
import traceback
from dataclasses import dataclass

import botocore.exceptions

_log = logging.getLogger(__name__)

# What a student sees in place of raw error text inside a longer reason.
PORTAL_SIDE = "an error on the portal's side"
HIDDEN = "[hidden]"


@dataclass(frozen=True)
class Incident:
    incident_id: str
    context: str
    # One line: the exception's type and message, or the text's first line.
    summary: str
    # Everything: the traceback (chained exceptions included) or the whole text.
    detail: str

    def public_message(self) -> str:
        return (f"Something went wrong on the portal's side (incident {self.incident_id}). "
                "Your instructor can look it up.")


def record_incident(exc_or_text: BaseException | str, *, context: str) -> Incident:
    """Log `exc_or_text` in full under a new random id and return the incident.

    `context` says where it happened, for the log: "a page of alice (student)".
    """
    incident = _incident(secrets.token_hex(4), exc_or_text, context)
    _write(incident, logging.ERROR)
    return incident


def student_text(text: str, *, context: str) -> str:
    """`text`, a stored error, as a student may see it; `text` itself when nothing needs hiding.

    `context` names where the text is stored ("environment abc123 status"); with the text it
    makes the incident id, so it must not change between refreshes.
    """
    shown, hid_something = _redact(text)
    if not hid_something:
        return text
    incident = _stored_incident(text, context)
    if shown == PORTAL_SIDE:
        return incident.public_message()
    return f"{shown} (incident {incident.incident_id}: your instructor can look it up)"


# -- what counts as raw ------------------------------------------------------------------------
# Exception class names that only Python or boto3 raise. AWS error codes read the same way
# ("AccessDenied: ...", "ValidationError: Template format error") and are AWS's reason, which the
# engine keeps on purpose; botocore's own ValidationError shares its name with AWS's most common
# code, so it counts as AWS's.
_PYTHON_EXCEPTIONS = frozenset(
    {name for name, value in vars(builtins).items()
     if isinstance(value, type) and issubclass(value, BaseException)}
    | {name for name, value in vars(botocore.exceptions).items()
       if isinstance(value, type) and issubclass(value, Exception)}
) - {"ValidationError"}

# Where raw text starts: the portal's wrapper of any crash (environment_service), a traceback,
# botocore's rendering of a ClientError, or a Python exception's name followed by its message.
_RAW_START = re.compile(
    r"portal error: "
    r"|Traceback \(most recent call last\)"
    r"|An error occurred \(\w+\) when calling the \w+ operation"
    r"|(?<![\w.])(?P<name>(?:[A-Za-z_]\w*\.)*[A-Z]\w*)(?=: |$)"
)
# Where it ends: the portal's own wording that follows an error inside a stored reason
# (environment_service.run_launch / run_destroy, reconcile_service), or the end of the text.
_RAW_END = re.compile(r"; (?:clean-up|destroy) |\): destroy ")

_IDENTIFIERS = re.compile(
    r"\barn:aws[a-z-]*:[^\s\"'`,;()\[\]{}<>]+"               # ARNs
    r"|\b[a-z][a-z0-9+.-]*://[^\s\"'`<>]+"                   # URLs: endpoints, presigned links
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"                         # access key ids
    r"|(?<![\w-])\d{12}(?![\w-])"                             # account ids
    r"|\b(?:[A-Za-z0-9-]+\.)+(?:amazonaws\.com(?:\.cn)?|localstack\.cloud|com|net|org|edu"
    r"|io|internal|local|localdomain|lan)\b(?::\d{1,5})?"     # host names
    r"|\b\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}\b"                  # address:port
    r"|\b[A-Za-z][\w.-]*:\d{1,5}\b"                           # host:port, host:pid
)


def _raw_start(text: str, pos: int) -> re.Match[str] | None:
    for match in _RAW_START.finditer(text, pos):
        name = match.group("name")
        if name is None or _is_python_exception(name):
            return match
    return None


def _is_python_exception(name: str) -> bool:
    if "." in name:  # a qualified name, e.g. sqlalchemy.exc.OperationalError
        return name.rsplit(".", 1)[1].endswith(("Error", "Exception"))
    return name in _PYTHON_EXCEPTIONS


def _redact(text: str) -> tuple[str, bool]:
    """`text` with its raw spans replaced by PORTAL_SIDE and its identifiers by HIDDEN, and
    whether anything was."""
    parts: list[str] = []
    pos, hidden = 0, 0
    while (start := _raw_start(text, pos)) is not None:
        readable, count = _IDENTIFIERS.subn(HIDDEN, text[pos:start.start()])
        parts += [readable, PORTAL_SIDE]
        hidden += count + 1
        end = _RAW_END.search(text, start.end())
        # The closing parenthesis of "clean-up failed (...)" belongs to the portal's wording.
        pos = len(text) if end is None else end.start()
    readable, count = _IDENTIFIERS.subn(HIDDEN, text[pos:])
    parts.append(readable)
    return "".join(parts), bool(hidden + count)


# -- logging -----------------------------------------------------------------------------------
def _incident(incident_id: str, exc_or_text: BaseException | str, context: str) -> Incident:
    if isinstance(exc_or_text, BaseException):
        summary = traceback.format_exception_only(exc_or_text)[-1].strip()
        detail = "".join(traceback.format_exception(exc_or_text)).rstrip()
    else:
        detail = exc_or_text.rstrip()
        summary = detail.splitlines()[0] if detail else ""
    return Incident(incident_id=incident_id, context=context, summary=summary, detail=detail)


def _write(incident: Incident, level: int) -> None:
    prefix = f"incident {incident.incident_id}"
    lines = [f"{prefix} in {incident.context}: {incident.summary}"]
    if incident.detail != incident.summary:
        lines += [f"{prefix} | {line}" for line in incident.detail.splitlines()]
    _log.log(level, "\n".join(lines),
             extra={"incident_id": incident.incident_id, "incident_context": incident.context})


# Ids of stored texts this process has logged. Bounded: forgetting one only logs it again.
_LOGGED_LIMIT = 4096
_logged: set[str] = set()
_logged_lock = threading.Lock()


def _stored_incident(text: str, context: str) -> Incident:
    incident_id = hashlib.sha256(f"{context}\0{text}".encode()).hexdigest()[:8]
    incident = _incident(incident_id, text, context)
    with _logged_lock:
        first = incident_id not in _logged
        if first:
            if len(_logged) >= _LOGGED_LIMIT:
                _logged.clear()
            _logged.add(incident_id)
    if first:
        _write(incident, logging.WARNING)
    return incident
