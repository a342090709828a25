"""Local accounts on a real SQLite file: argon2id hashes only, one-time codes spent once,
sessions that end, failed passwords slowed down and audited, and the first start's setup."""

from __future__ import annotations

import logging
import os
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services import accounts, audit
from services.accounts import SignInError, SignInThrottledError
from services.context import PortalContext
from services.errors import PermissionDeniedError, ValidationError
from services.history.models import Account, AuditEntry, WebSession, utcnow
from services.identity import Actor, Role
from tests.services.conftest import OPERATOR

PASSWORD = "a long enough passphrase"


def _db_bytes(ctx: PortalContext) -> bytes:
    path = Path(ctx.settings.effective_database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_passwords_are_stored_as_argon2id_hashes_only(ctx: PortalContext,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    accounts.create_account(ctx, actor=OPERATOR, name="alice", role="student", password=PASSWORD)
    actor = accounts.authenticate(ctx, login="alice", password=PASSWORD, client="10.0.0.1")
    assert actor == Actor("alice", Role.STUDENT)
    with pytest.raises(SignInError):
        accounts.authenticate(ctx, login="alice", password=PASSWORD + "x", client="10.0.0.1")
    with ctx.sessions() as session:
        stored = session.get(Account, "alice").password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD.encode() not in _db_bytes(ctx)
    assert PASSWORD not in caplog.text
    with ctx.sessions() as session:
        details = " ".join(str(e.detail) for e in session.scalars(select(AuditEntry)))
    assert PASSWORD not in details


def test_a_hash_made_with_other_parameters_is_made_again_at_sign_in(ctx: PortalContext) -> None:
    from argon2 import PasswordHasher

    accounts.create_account(ctx, actor=OPERATOR, name="bob", role="student", password=PASSWORD)
    with ctx.sessions() as session, session.begin():
        stored = session.get(Account, "bob").password_hash
        assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), "OWASP's configuration"
        # A hash from argon2-cffi's default profile, as accounts made earlier hold.
        session.get(Account, "bob").password_hash = PasswordHasher().hash(PASSWORD)
    assert accounts.authenticate(ctx, login="bob", password=PASSWORD, client="10.0.0.2") == \
        Actor("bob", Role.STUDENT)
    with ctx.sessions() as session:
        rehashed = session.get(Account, "bob").password_hash
    assert rehashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert accounts.authenticate(ctx, login="bob", password=PASSWORD, client="10.0.0.2") == \
        Actor("bob", Role.STUDENT)


def test_an_unknown_name_and_a_wrong_password_look_the_same(ctx: PortalContext) -> None:
    accounts.create_account(ctx, actor=OPERATOR, name="alice", role="student", password=PASSWORD)
    messages = set()
    for login in ("alice", "nobody"):
        with pytest.raises(SignInError) as refused:
            accounts.authenticate(ctx, login=login, password="wrong password", client="c")
        messages.add(str(refused.value))
    assert messages == {"sign-in: wrong name or password"}


def test_repeated_failures_are_slowed_then_locked_and_audited(
        ctx: PortalContext, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    accounts.create_account(ctx, actor=OPERATOR, name="alice", role="student", password=PASSWORD)
    delays = []
    for _ in range(accounts.LOCK_FAILURES):
        delays.append(accounts.throttle_delay(ctx, login="alice", client="203.0.113.9"))
        with pytest.raises(SignInError):
            accounts.authenticate(ctx, login="alice", password="guess", client="203.0.113.9")
    assert delays[:accounts.FREE_FAILURES] == [0.0] * accounts.FREE_FAILURES
    assert delays[accounts.FREE_FAILURES] > 0
    assert delays == sorted(delays) and max(delays) == accounts.MAX_DELAY_S
    with pytest.raises(SignInThrottledError):
        accounts.throttle_delay(ctx, login="alice", client="198.51.100.1")
    assert caplog.text.count("failed sign-in for 'alice'") == accounts.LOCK_FAILURES
    refused = audit.entries(ctx, actor=OPERATOR, actions=["sign_in"], outcomes=["refused"])
    assert len(refused) == accounts.LOCK_FAILURES
    assert {e.client for e in refused} == {"203.0.113.9"}


def test_a_one_time_code_sets_the_password_once(ctx: PortalContext) -> None:
    view, code = accounts.create_account_with_code(ctx, actor=OPERATOR, name="bob",
                                                   role="student", email="Bob@School.example")
    assert not view.has_password and view.email == "bob@school.example"
    with pytest.raises(SignInError):
        accounts.authenticate(ctx, login="bob", password="", client="c")
    with pytest.raises(ValidationError, match="code"):
        accounts.activate(ctx, login="bob", code="wrong-code", password=PASSWORD)
    actor = accounts.activate(ctx, login="bob@school.example", code=code, password=PASSWORD)
    assert actor.name == "bob"
    with pytest.raises(ValidationError, match="code"):
        accounts.activate(ctx, login="bob", code=code, password="another passphrase")
    assert accounts.authenticate(ctx, login="bob", password=PASSWORD, client="c").name == "bob"
    assert code.encode() not in _db_bytes(ctx)


def test_two_requests_with_one_code_set_one_password(ctx: PortalContext) -> None:
    _, code = accounts.create_account_with_code(ctx, actor=OPERATOR, name="carol",
                                                role="student")
    barrier = threading.Barrier(6)
    won: list[str] = []

    def one(i: int) -> None:
        barrier.wait()
        try:
            accounts.activate(ctx, login="carol", code=code, password=f"passphrase number {i}")
            won.append(f"passphrase number {i}")
        except ValidationError:
            pass

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert accounts.authenticate(ctx, login="carol", password=won[0], client="c").name == "carol"


def test_sessions_end_at_sign_out_after_idle_time_and_at_their_lifetime(
        ctx: PortalContext) -> None:
    accounts.create_account(ctx, actor=OPERATOR, name="alice", role="student", password=PASSWORD)
    token = accounts.start_session(ctx, account_name="alice")
    assert accounts.resolve_session(ctx, token).name == "alice"
    assert accounts.resolve_session(ctx, token + "x") is None
    idle = timedelta(minutes=ctx.settings.session_idle_minutes)
    now = utcnow()
    assert accounts.resolve_session(ctx, token, now=now + idle / 2).name == "alice"
    # Used at idle/2, so still alive at idle/2 + idle - 1 s, and gone after a whole idle period.
    assert accounts.resolve_session(ctx, token, now=now + idle / 2 + idle - timedelta(
        seconds=1)) is not None
    assert accounts.resolve_session(ctx, token, now=now + 3 * idle) is None
    assert accounts.resolve_session(ctx, token) is None, "an ended session stays ended"

    second = accounts.start_session(ctx, account_name="alice")
    accounts.end_session(ctx, second, client="c")
    assert accounts.resolve_session(ctx, second) is None
    third = accounts.start_session(ctx, account_name="alice")
    lifetime = timedelta(hours=ctx.settings.session_max_hours)
    with ctx.sessions() as session, session.begin():
        session.get(WebSession, accounts.token_hash(third)).last_seen_at = now + lifetime
    assert accounts.resolve_session(ctx, third, now=now + lifetime + timedelta(seconds=1)) is None
    with ctx.sessions() as session:
        assert all(len(w.token_hash) == 64 for w in session.scalars(select(WebSession)))
    assert token.encode() not in _db_bytes(ctx)


def test_a_disabled_account_cannot_sign_in_or_keep_its_session(ctx: PortalContext) -> None:
    accounts.create_account(ctx, actor=OPERATOR, name="alice", role="student", password=PASSWORD)
    token = accounts.start_session(ctx, account_name="alice")
    with ctx.sessions() as session, session.begin():
        session.get(Account, "alice").disabled = True
    assert accounts.resolve_session(ctx, token) is None
    with pytest.raises(SignInError):
        accounts.authenticate(ctx, login="alice", password=PASSWORD, client="c")


@pytest.mark.parametrize(
    ("creator", "role", "admin", "allowed"),
    [
        (Actor("t", Role.INSTRUCTOR), "student", False, True),
        (Actor("t", Role.INSTRUCTOR), "instructor", False, False),
        (Actor("t", Role.INSTRUCTOR, is_admin=True), "instructor", True, True),
        (Actor("s", Role.STUDENT), "student", False, False),
    ],
    ids=["instructor-makes-student", "instructor-makes-instructor", "admin-makes-admin",
         "student-makes-student"],
)
def test_who_may_create_which_account(ctx: PortalContext, creator: Actor, role: str,
                                      admin: bool, allowed: bool) -> None:
    if allowed:
        view = accounts.create_account(ctx, actor=creator, name="new", role=role,
                                       is_admin=admin, password=PASSWORD)
        assert (view.role, view.is_admin) == (role, admin)
    else:
        with pytest.raises(PermissionDeniedError):
            accounts.create_account(ctx, actor=creator, name="new", role=role, is_admin=admin)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [({"name": "-x"}, "name"), ({"password": "short"}, "password"),
     ({"email": "not-an-address"}, "email"), ({"role": "root"}, "role")],
)
def test_bad_account_fields_are_named(ctx: PortalContext, fields: dict[str, str],
                                      bad: str) -> None:
    values = {"name": "ok", "role": "student", "password": PASSWORD, **fields}
    with pytest.raises(ValidationError) as invalid:
        accounts.create_account(ctx, actor=OPERATOR, **values)
    assert bad in invalid.value.field_errors


def test_the_first_start_setup_token_makes_one_admin_and_is_spent(ctx: PortalContext) -> None:
    token = accounts.setup_token(ctx)
    assert token and accounts.setup_token(ctx) == token, "stable until used"
    path = ctx.settings.data_dir / accounts.SETUP_TOKEN_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(ValidationError, match="token"):
        accounts.complete_setup(ctx, token="wrong", name="boss", password=PASSWORD)
    actor = accounts.complete_setup(ctx, token=token, name="boss", password=PASSWORD)
    assert actor.is_instructor and actor.is_admin
    assert not path.exists() and accounts.setup_token(ctx) is None
    with pytest.raises(PermissionDeniedError):
        accounts.complete_setup(ctx, token=token, name="again", password=PASSWORD)


def test_an_oidc_email_maps_to_its_roster_entry_only(ctx: PortalContext) -> None:
    accounts.create_account(ctx, actor=OPERATOR, name="dana", role="student",
                            email="dana@school.example")
    assert accounts.actor_by_email(ctx, "Dana@School.example") == Actor("dana", Role.STUDENT)
    assert accounts.actor_by_email(ctx, "eve@elsewhere.example") is None
    assert accounts.actor_by_email(ctx, None) is None


def test_two_setups_at_once_make_one_instructor(ctx: PortalContext) -> None:
    token = accounts.setup_token(ctx)
    barrier = threading.Barrier(4)
    made: list[str] = []

    def one(i: int) -> None:
        barrier.wait()
        try:
            made.append(accounts.complete_setup(ctx, token=token, name=f"boss{i}",
                                                password=PASSWORD).name)
        except PermissionDeniedError:
            pass

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert [a.name for a in accounts.list_accounts(ctx, actor=OPERATOR)] == made
