"""`sandbox users`, `sandbox courses`, `sandbox audit` and launches refused by a course's limits,
against the test's own history database (and, for launches, the shared embedded cloud).

Most commands run in-process through `services.cli.main`, which is what the installed script
calls; the password test runs the installed script as a user would, so that argv, stdin and
stdout are the real ones.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services import accounts
from services.cli import main
from services.context import PortalContext
from services.history.models import Account

SANDBOX = str(Path(sys.executable).parent / "sandbox")
PASSWORD = "Tr0ub4dor & 3 horses"

pytestmark = pytest.mark.xdist_group("embedded-cloud")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def sandbox(ctx: PortalContext, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Any:
    """`sandbox(*argv, stdin=...)`: one CLI command in this process, its exit status and output."""
    def run(*argv: str, stdin: str = "") -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def one_line(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def database_dump(ctx: PortalContext) -> str:
    """Everything the SQLite history file holds, committed rows of every table."""
    path = ctx.settings.effective_database_url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def student_course(sandbox: Any, course: str, *limits: str, students: tuple[str, ...] = ("ann",)
                   ) -> None:
    assert sandbox("courses", "create", course, *limits).code == 0
    for name in students:
        assert sandbox("users", "add", name, "--role", "student").code == 0
    if students:
        assert sandbox("courses", "enroll", course, *students).code == 0


# -- accounts -----------------------------------------------------------------------------------
def test_users_add_reads_the_password_from_stdin_and_keeps_only_its_argon2_hash(
        ctx: PortalContext) -> None:
    result = subprocess.run(
        [SANDBOX, "users", "add", "alice", "--role", "instructor", "--email", "Alice@Example.org",
         "--admin", "--password-stdin", "--json"],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=120,
        env=os.environ.copy())

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"name": "alice", "role": "instructor",
                                         "email": "alice@example.org", "is_admin": True,
                                         "one_time_code": None}
    assert PASSWORD not in result.stdout + result.stderr
    with ctx.sessions() as session:
        stored = session.get(Account, "alice").password_hash
    assert stored.startswith("$argon2id$")
    dump = database_dump(ctx)
    assert PASSWORD not in dump and "Tr0ub4dor" not in dump
    # The hash is of the whole line, spaces included, and of nothing more.
    assert accounts.authenticate(ctx, login="alice", password=PASSWORD, client="test").is_admin


def test_users_add_without_a_password_prints_a_one_time_code_and_stores_its_hash(
        ctx: PortalContext, sandbox: Any) -> None:
    added = sandbox("users", "add", "bo", "--role", "student", "--json")

    assert added.code == 0, added.err
    data = added.json()
    code = data["one_time_code"]
    assert re.fullmatch(r"[0-9a-f]{6}(-[0-9a-f]{6}){3}", code)
    assert {k: data[k] for k in ("name", "role", "email", "is_admin")} == {
        "name": "bo", "role": "student", "email": None, "is_admin": False}
    with ctx.sessions() as session:
        account = session.get(Account, "bo")
        assert account.password_hash is None
        assert account.setup_code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert code not in database_dump(ctx)

    # Forgotten: a new code replaces the old one.
    renewed = sandbox("users", "code", "bo", "--json")
    assert renewed.code == 0, renewed.err
    new_code = renewed.json()["one_time_code"]
    assert new_code != code and renewed.json()["name"] == "bo"
    accounts.activate(ctx, login="bo", code=new_code, password=PASSWORD)
    listed = {a["name"]: a for a in sandbox("users", "list", "--json").json()}
    assert listed["bo"]["has_password"] is True and listed["bo"]["role"] == "student"
    assert PASSWORD not in json.dumps(listed)


@pytest.mark.parametrize(("argv", "stdin", "field"), [
    (["users", "add", "cy", "--role", "student", "--password-stdin"], "\n", "password"),
    (["users", "add", "cy", "--role", "student", "--password-stdin"], "short\n", "password"),
    (["users", "add", "cy", "--role", "student", "--email", "not-an-address"], "", "email"),
    (["users", "add", "cy", "--role", "student", "--admin"], "", "admin"),
    (["users", "add", "bad name!", "--role", "student"], "", "name"),
    (["users", "code", "nobody"], "", "name"),
])
def test_bad_account_input_is_one_line_naming_the_field_and_creates_nothing(
        sandbox: Any, argv: list[str], stdin: str, field: str) -> None:
    result = sandbox(*argv, stdin=stdin)

    assert result.code == 2
    assert field in one_line(result)
    assert sandbox("users", "list", "--json").json() == []


def test_users_import_of_three_students_gives_three_codes_and_enrols_them(
        ctx: PortalContext, sandbox: Any, tmp_path: Path) -> None:
    assert sandbox("courses", "create", "cloud-101").code == 0
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email,role\n"
                      "dee,dee@example.org,student\n"
                      "eve,,\n"
                      "fay,fay@example.org,student\n")

    imported = sandbox("users", "import", "cloud-101", str(roster), "--json")

    assert imported.code == 0, imported.err
    entries = imported.json()
    assert [e["name"] for e in entries] == ["dee", "eve", "fay"]
    assert all(e["created"] and e["enrolled"] and e["role"] == "student" for e in entries)
    codes = [e["one_time_code"] for e in entries]
    assert all(codes) and len(set(codes)) == 3
    shown = sandbox("courses", "show", "cloud-101", "--json").json()
    assert shown["students"] == 3
    assert {(m["name"], m["role"], m["has_password"]) for m in shown["members"]} == {
        ("dee", "student", False), ("eve", "student", False), ("fay", "student", False)}
    # The text form prints each person with their code, for the instructor to hand out.
    again = sandbox("users", "import", "cloud-101", "-",
                    stdin="name,email\ngus,gus@example.org\n")
    assert again.code == 0, again.err
    assert re.search(r"gus\s+student\s+gus@example.org\s+[0-9a-f]{6}-", again.out)


def test_a_roster_with_a_bad_row_is_refused_whole_naming_its_line(sandbox: Any) -> None:
    assert sandbox("courses", "create", "cloud-101").code == 0

    result = sandbox("users", "import", "cloud-101", "-",
                     stdin="name,email\nhal,hal@example.org\nbad name!,x@example.org\n")

    assert result.code == 2 and "line 3" in one_line(result)
    assert sandbox("users", "list", "--json").json() == []


# -- courses ------------------------------------------------------------------------------------
def test_courses_create_enroll_show_update_and_list(sandbox: Any) -> None:
    created = sandbox("courses", "create", "net-2", "--title", "Networks 2", "--budget-usd", "20",
                      "--max-envs", "2", "--max-lease-hours", "8",
                      "--templates", "web-server,three-tier", "--instance-types", "t3.micro",
                      "--db-classes", "db.t3.micro", "--starts", "2024-01-08",
                      "--ends", "2099-06-30", "--notify-only", "--json")
    assert created.code == 0, created.err
    assert {k: v for k, v in created.json().items() if k not in ("members", "instructors")} == {
        "id": "net-2", "title": "Networks 2", "templates": ["three-tier", "web-server"],
        "instance_types": ["t3.micro"], "db_classes": ["db.t3.micro"], "max_running_envs": 2,
        "budget_usd": 20.0, "budget_action": "notify", "max_lease_hours": 8,
        "starts_on": "2024-01-08", "ends_on": "2099-06-30", "students": 0}

    for name in ("ida", "jon"):
        assert sandbox("users", "add", name, "--role", "student").code == 0
    assert sandbox("users", "add", "kim", "--role", "instructor").code == 0
    enrolled = sandbox("courses", "enroll", "net-2", "ida", "jon", "--json")
    assert enrolled.json() == {"course": "net-2", "role": "student", "enrolled": ["ida", "jon"],
                               "already_enrolled": []}
    assert sandbox("courses", "enroll", "net-2", "ida", "--json").json()["already_enrolled"] \
        == ["ida"]
    assert sandbox("courses", "enroll", "net-2", "kim", "--instructor").code == 0
    missing = sandbox("courses", "enroll", "net-2", "nobody")
    assert missing.code == 2 and "names" in one_line(missing)

    shown = sandbox("courses", "show", "net-2", "--json").json()
    assert shown["students"] == 2 and shown["instructors"] == ["kim"]
    assert {(m["name"], m["role"]) for m in shown["members"]} == {
        ("ida", "student"), ("jon", "student"), ("kim", "instructor")}
    text = sandbox("courses", "show", "net-2").out
    assert "Networks 2" in text and "ida" in text and "notifies only" in text

    # An update changes what it names and nothing else; "all" lifts a restriction.
    updated = sandbox("courses", "update", "net-2", "--max-envs", "4", "--templates", "all",
                      "--stop-at-budget", "--json").json()
    assert (updated["max_running_envs"], updated["templates"], updated["budget_action"]) == (
        4, None, "stop")
    assert (updated["budget_usd"], updated["instance_types"]) == (20.0, ["t3.micro"])

    listed = {c["id"]: c for c in sandbox("courses", "list", "--json").json()}
    assert set(listed) == {"default", "net-2"}
    assert listed["net-2"]["students"] == 2 and "members" not in listed["net-2"]
    unknown = sandbox("courses", "show", "nope")
    assert unknown.code == 2 and "course" in one_line(unknown)


@pytest.mark.parametrize(("argv", "field"), [
    (["courses", "create", "bad id!"], "course"),
    (["courses", "create", "c", "--budget-usd", "lots"], "budget_usd"),
    (["courses", "create", "c", "--max-envs", "0"], "max_running_envs"),
    (["courses", "create", "c", "--templates", "no-such-template"], "templates"),
    (["courses", "create", "c", "--instance-types", "x1e.32xlarge"], "instance_types"),
    (["courses", "create", "c", "--starts", "next monday"], "starts_on"),
    (["courses", "create", "c", "--starts", "2024-05-01", "--ends", "2024-04-01"], "ends_on"),
    (["courses", "update", "nope", "--max-envs", "2"], "course"),
    (["courses", "update", "c"], "update"),
])
def test_bad_course_input_is_one_line_naming_the_field(sandbox: Any, argv: list[str],
                                                       field: str) -> None:
    result = sandbox(*argv)

    assert result.code == 2
    assert field in one_line(result)
    assert [c["id"] for c in sandbox("courses", "list", "--json").json()] == ["default"]


# -- launches the course refuses ----------------------------------------------------------------
def test_a_course_offering_only_web_server_refuses_three_tier(sandbox: Any) -> None:
    student_course(sandbox, "web-only", "--templates", "web-server")

    result = sandbox("launch", "three-tier", "--owner", "ann", "--course", "web-only")

    assert result.code == 2
    line = one_line(result)
    assert "'templates'" in line and "three-tier" in line and "web-server" in line
    assert sandbox("envs", "--json").json() == []


def test_a_course_allowing_one_environment_refuses_the_second(sandbox: Any) -> None:
    student_course(sandbox, "one-each", "--max-envs", "1")
    first = sandbox("launch", "web-server", "--owner", "ann", "--course", "one-each", "--json")
    assert first.code == 0, first.err
    env_id = first.json()["env_id"]
    assert (first.json()["owner"], first.json()["course"]) == ("ann", "one-each")

    second = sandbox("launch", "web-server", "--owner", "ann", "--course", "one-each")

    assert second.code == 2
    line = one_line(second)
    assert "running environments" in line and "1 of the 1" in line
    assert [e["env_id"] for e in sandbox("envs", "--json").json()] == [env_id]
    assert sandbox("destroy", env_id).code == 0


def test_a_course_with_a_budget_of_a_cent_refuses_naming_the_three_amounts(
        sandbox: Any) -> None:
    student_course(sandbox, "thrifty", "--budget-usd", "0.01")

    result = sandbox("launch", "web-server", "--owner", "ann", "--course", "thrifty")

    assert result.code == 2
    line = one_line(result)
    assert "'budget'" in line
    # What the launch costs, what ann has spent, and the course's budget.
    amounts = re.findall(r"\$\d[\d,]*\.\d\d", line)
    assert len(amounts) == 3 and amounts[1:] == ["$0.00", "$0.01"], line
    assert sandbox("envs", "--json").json() == []


def test_a_course_refuses_students_not_enrolled_and_instructors_not_teaching_it(
        sandbox: Any) -> None:
    student_course(sandbox, "closed")
    assert sandbox("users", "add", "lee", "--role", "instructor").code == 0

    stranger = sandbox("launch", "web-server", "--owner", "max", "--course", "closed")
    instructor = sandbox("launch", "web-server", "--owner", "lee", "--course", "closed")
    no_course = sandbox("launch", "web-server", "--owner", "ann", "--course", "no-such-course")

    assert stranger.code == instructor.code == no_course.code == 2
    assert "'course'" in one_line(stranger) and "not enrolled" in one_line(stranger)
    assert "you do not teach course closed" in one_line(instructor)
    assert "there is no course no-such-course" in one_line(no_course)


def test_the_audit_log_lists_the_refusals_under_the_operator(sandbox: Any) -> None:
    student_course(sandbox, "web-only", "--templates", "web-server")
    student_course(sandbox, "thrifty", "--budget-usd", "0.01", students=())
    assert sandbox("courses", "enroll", "thrifty", "ann").code == 0
    assert sandbox("launch", "three-tier", "--owner", "ann", "--course", "web-only").code == 2
    assert sandbox("launch", "web-server", "--owner", "ann", "--course", "thrifty").code == 2

    refused = sandbox("audit", "--json", "--outcome", "refused").json()

    assert [(e["action"], e["actor"], e["outcome"], e["course"], e["target"])
            for e in refused] == [("launch", "operator", "refused", "thrifty", "web-server"),
                                  ("launch", "operator", "refused", "web-only", "three-tier")]
    assert "for ann" in refused[0]["detail"] and "budget" in refused[0]["detail"]
    # Everything else the commands did is there too, under the operator, and filters narrow it.
    everything = sandbox("audit", "--json").json()
    assert {e["actor"] for e in everything} == {"operator"}
    assert {"course.create", "account.create", "enrol", "launch"} <= {
        e["action"] for e in everything}
    one_course = sandbox("audit", "--json", "--course", "web-only", "--action", "launch").json()
    assert [e["course"] for e in one_course] == ["web-only"]
    assert sandbox("audit", "--json", "--actor", "someone-else").json() == []
    assert sandbox("audit", "--json", "--since", "2999-01-01").json() == []
    assert len(sandbox("audit", "--json", "--since", "2000-01-01T00:00").json()) == \
        len(everything)

    csv_lines = sandbox("audit", "--csv", "--outcome", "refused").out.splitlines()
    assert csv_lines[0] == "at,actor,action,outcome,course,target,detail,client"
    assert len(csv_lines) == 3 and all(",operator,launch,refused," in line
                                       for line in csv_lines[1:])


@pytest.mark.parametrize(("argv", "field"), [
    (["audit", "--since", "yesterday"], "since"),
    (["audit", "--json", "--csv"], "--csv"),
])
def test_bad_audit_input_is_one_line_naming_the_field(sandbox: Any, argv: list[str],
                                                      field: str) -> None:
    result = sandbox(*argv)

    assert result.code == 2 and field in one_line(result)
