"""Local accounts: passwords, one-time codes, the first start's setup token, browser sessions and
the slowing down of repeated failed passwords.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
profile); only the hash is stored. One-time codes, setup tokens and session tokens are random and
stored as SHA-256 hashes: each carries 128 bits or more of randomness, so a fast hash cannot be
searched, unlike a password. Nothing here logs or returns a password.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from services import audit, i18n
from services.audit import Action, Outcome
from services.context import PortalContext
from services.errors import PermissionDeniedError, PortalError, ValidationError
from services.history.models import (
    Account,
    Enrolment,
    EnrolmentRole,
    SignInFailure,
    WebSession,
    utcnow,
)
from services.i18n import _
from services.identity import Actor, InvalidActorError, Role, check_name

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
SETUP_CODE_LIFETIME = timedelta(days=14)
# Failed passwords: after FREE_FAILURES within the window each attempt waits longer (doubling up
# to MAX_DELAY_S); after LOCK_FAILURES the name (or the client) is refused until the window
# passes. An online guesser then gets about 20 tries per 15 minutes per name.
FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES = 3
LOCK_FAILURES = 20
MAX_DELAY_S = 8.0
SETUP_TOKEN_FILE = "setup-token"
# argon2id at OWASP's recommended configuration (19 MiB, 2 passes, 1 lane: Password Storage
# Cheat Sheet). argon2-cffi's default (RFC 9106's low-memory profile, 64 MiB, 3 passes, 4 lanes)
# costs 0.21 s of one core per sign-in on a 2-core class server, a class signing in at once
# queues behind it; this one costs 0.03 s. Hashes made with other parameters are made again at
# the next sign-in (check_needs_rehash).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when a name is unknown, so that an unknown name costs as long as a wrong password and
# timing does not tell which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class SignInError(PortalError):
    """Wrong name or password, or a disabled account: one message for all, on purpose."""

    def __init__(self) -> None:
        super().__init__(_("sign-in: wrong name or password"))


class SignInThrottledError(PortalError):
    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        minutes = max(1, round(retry_after_s / 60))
        super().__init__(_("sign-in: too many failed attempts; try again in {minutes} min")
                         .format(minutes=minutes))


@dataclass(frozen=True)
class AccountView:
    name: str
    email: str | None
    display_name: str | None
    role: str
    is_admin: bool
    has_password: bool
    disabled: bool
    created_at: datetime


def _view(account: Account) -> AccountView:
    return AccountView(account.name, account.email, account.display_name, account.role,
                       account.is_admin, account.password_hash is not None, account.disabled,
                       account.created_at)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password or "") <= MAX_PASSWORD_LENGTH:
        raise ValidationError({"password": _("use {low} to {high} characters").format(
            low=MIN_PASSWORD_LENGTH, high=MAX_PASSWORD_LENGTH)})
    return password


def check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or any(c.isspace()
                                                                           for c in email):
        raise ValidationError({"email": _("not an e-mail address: {email!r}").format(
            email=email)})
    return email


def _role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationError({"role": _("student or instructor, not {role!r}").format(
            role=role)}) from None


# -- accounts -----------------------------------------------------------------------------------
def count_accounts(ctx: PortalContext) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(Account)) or 0


def get_account(ctx: PortalContext, name: str) -> AccountView | None:
    with ctx.sessions() as session:
        account = session.get(Account, name)
        return _view(account) if account else None


def list_accounts(ctx: PortalContext, *, actor: Actor) -> list[AccountView]:
    if not actor.is_instructor:
        raise PermissionDeniedError(_("accounts: only instructors may list accounts"))
    with ctx.sessions() as session:
        return [_view(a) for a in session.scalars(select(Account).order_by(Account.name))]


def add_account(session: Session, *, actor: Actor | None, name: str, role: str | Role,
                email: str | None = None, display_name: str | None = None,
                is_admin: bool = False, password: str | None = None,
                client: str | None = None) -> Account:
    """Create an account in the caller's unit of work. Students may be created by any instructor;
    instructors and admins only by an admin (or the first start's setup, `actor=None`)."""
    try:
        check_name(name)
    except InvalidActorError as exc:
        raise ValidationError({"name": str(exc).partition(": ")[2]}) from None
    parsed = _role(role)
    if is_admin and parsed is not Role.INSTRUCTOR:
        raise ValidationError({"admin": _("only an instructor can be an admin")})
    if actor is not None:
        if not actor.is_instructor:
            raise PermissionDeniedError(_("accounts: only instructors may create accounts"))
        if (parsed is Role.INSTRUCTOR or is_admin) and not actor.is_admin:
            raise PermissionDeniedError(_("accounts: only an admin may create instructors"))
    if session.get(Account, name) is not None:
        raise ValidationError({"name": _("an account named {name} already exists").format(
            name=name)})
    email = check_email(email)
    if email and session.scalar(select(Account.name).where(Account.email == email)):
        raise ValidationError({"email": _("{email} belongs to another account").format(
            email=email)})
    account = Account(name=name, role=parsed.value, email=email,
                      display_name=(display_name or "").strip()[:128] or None,
                      is_admin=is_admin, created_at=utcnow(),
                      password_hash=_hasher.hash(check_password(password)) if password else None)
    session.add(account)
    audit.record(session, actor=actor.name if actor else name, action=Action.ACCOUNT_CREATE,
                 target=name, client=client,
                 detail=f"role {parsed.value}{', admin' if is_admin else ''}"
                        f"{', e-mail ' + email if email else ''}")
    session.flush()
    return account


def create_account(ctx: PortalContext, *, actor: Actor | None, name: str, role: str | Role,
                   email: str | None = None, display_name: str | None = None,
                   is_admin: bool = False, password: str | None = None) -> AccountView:
    with ctx.sessions() as session, session.begin():
        return _view(add_account(session, actor=actor, name=name, role=role, email=email,
                                 display_name=display_name, is_admin=is_admin,
                                 password=password))


def create_account_with_code(ctx: PortalContext, *, actor: Actor, name: str, role: str | Role,
                             email: str | None = None, display_name: str | None = None,
                             is_admin: bool = False) -> tuple[AccountView, str]:
    """An account without a password, and the one-time code its owner sets a password with."""
    with ctx.sessions() as session, session.begin():
        account = add_account(session, actor=actor, name=name, role=role, email=email,
                              display_name=display_name, is_admin=is_admin)
        code = issue_setup_code(session, account)
        return _view(account), code


def issue_setup_code(session: Session, account: Account) -> str:
    """A one-time code with which the person sets their own password; shown once, stored hashed."""
    code = "-".join(secrets.token_hex(3) for _ in range(4))
    account.setup_code_hash = token_hash(code)
    account.setup_code_expires_at = utcnow() + SETUP_CODE_LIFETIME
    return code


def new_setup_code(ctx: PortalContext, *, actor: Actor, name: str) -> str:
    """A fresh one-time code for an account (a student who forgot their password)."""
    from services.courses import shares_a_taught_course

    with ctx.sessions() as session, session.begin():
        account = session.get(Account, name)
        if account is None:
            raise ValidationError({"name": _("no account named {name}").format(name=name)})
        allowed = actor.is_admin or (account.role == Role.STUDENT.value and (
            actor.sees_every_course or shares_a_taught_course(session, actor, name)))
        if not (actor.is_instructor and allowed):
            raise PermissionDeniedError(_("accounts: you may not reset {name}'s password")
                                        .format(name=name))
        code = issue_setup_code(session, account)
        audit.record(session, actor=actor.name, action=Action.ACCOUNT_CODE, target=name)
        return code


def activate(ctx: PortalContext, *, login: str, code: str, password: str,
             client: str | None = None) -> Actor:
    """Set one's own password with a one-time code; the code is spent."""
    check_password(password)
    now = utcnow()
    with ctx.sessions() as session, session.begin():
        account = _find(session, login)
        valid = (account is not None and account.setup_code_hash is not None
                 and account.setup_code_expires_at is not None
                 and account.setup_code_expires_at > now and not account.disabled
                 and hmac.compare_digest(account.setup_code_hash, token_hash(code.strip())))
        if not valid:
            raise ValidationError({"code": _("this code is wrong, used or expired; ask your "
                                             "instructor for a new one")})
        # Compare-and-set: of two requests with the same code only one spends it.
        spent = session.execute(update(Account).where(
            Account.name == account.name,
            Account.setup_code_hash == account.setup_code_hash,
        ).values(setup_code_hash=None, setup_code_expires_at=None,
                 password_hash=_hasher.hash(password))).rowcount
        if spent != 1:
            raise ValidationError({"code": _("this code was used a moment ago")})
        audit.record(session, actor=account.name, action=Action.ACTIVATE, target=account.name,
                     client=client)
        return actor_for(session, account)


def _find(session: Session, login: str) -> Account | None:
    login = (login or "").strip()
    if "@" in login:
        return session.scalar(select(Account).where(Account.email == login.lower()))
    return session.get(Account, login) if login else None


# -- who an account acts as ----------------------------------------------------------------------
def actor_for(session: Session, account: Account) -> Actor:
    role = Role(account.role)
    taught: frozenset[str] | None = None
    if role is Role.INSTRUCTOR and not account.is_admin:
        taught = frozenset(session.scalars(select(Enrolment.course_id).where(
            Enrolment.account_name == account.name,
            Enrolment.role == EnrolmentRole.INSTRUCTOR.value)))
    return Actor(name=account.name, role=role, is_admin=account.is_admin, courses_taught=taught)


def actor_named(ctx: PortalContext, name: str) -> Actor | None:
    """The actor of an account as a sign-in would make it (its role, the courses it teaches);
    None when no account has that name. A disabled account raises."""
    with ctx.sessions() as session:
        account = session.get(Account, name)
        if account is None:
            return None
        if account.disabled:
            raise PermissionDeniedError(_("owner: the account {name} is disabled").format(
                name=name))
        return actor_for(session, account)


def actor_by_email(ctx: PortalContext, email: str | None) -> Actor | None:
    """The roster entry of an e-mail an identity provider vouched for; None for an unknown one."""
    if not email:
        return None
    with ctx.sessions() as session:
        account = session.scalar(select(Account).where(Account.email == email.strip().lower()))
        if account is None or account.disabled:
            return None
        return actor_for(session, account)


# -- language -----------------------------------------------------------------------------------
def preferred_locale(ctx: PortalContext, name: str) -> str | None:
    """The language the account `name` picked, or None when it has not picked one."""
    with ctx.sessions() as session:
        return session.scalar(select(Account.locale).where(Account.name == name))


def set_locale(ctx: PortalContext, *, actor: Actor, locale: str) -> str:
    """Remembers `locale` as the language of the actor's own account (nobody picks another's)."""
    if not i18n.is_supported(locale):
        raise ValidationError({"locale": _("one of {locales}").format(
            locales=", ".join(i18n.SUPPORTED_LOCALES))})
    with ctx.sessions.begin() as session:
        updated = session.execute(update(Account).where(Account.name == actor.name)
                                  .values(locale=locale)).rowcount
    if not updated:
        raise PermissionDeniedError(_("language: no account {name}").format(name=actor.name))
    return locale


# -- passwords ----------------------------------------------------------------------------------
def throttle_delay(ctx: PortalContext, *, login: str, client: str) -> float:
    """Seconds the next attempt for `login` from `client` must wait; raises when locked out."""
    since = utcnow() - FAILURE_WINDOW
    with ctx.sessions() as session:
        by_login = session.scalar(select(func.count()).select_from(SignInFailure).where(
            SignInFailure.login == login.lower(), SignInFailure.at >= since)) or 0
        by_client = session.scalar(select(func.count()).select_from(SignInFailure).where(
            SignInFailure.client == client, SignInFailure.at >= since)) or 0
    worst = max(by_login, by_client // 3)
    if worst >= LOCK_FAILURES:
        raise SignInThrottledError(int(FAILURE_WINDOW.total_seconds()))
    if worst < FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY_S, 0.5 * 2 ** (worst - FREE_FAILURES))


def record_failure(ctx: PortalContext, *, login: str, client: str) -> None:
    """A failed guess that is not a password (a wrong one-time code) counts toward throttling."""
    with ctx.sessions() as session, session.begin():
        session.add(SignInFailure(login=login.strip().lower()[:254], client=client[:64],
                                  at=utcnow()))
    logger.warning("failed one-time code for %r from %s", login[:64], client)


def authenticate(ctx: PortalContext, *, login: str, password: str, client: str) -> Actor:
    """The actor of a name (or e-mail) and password. Every attempt is audited; failures are
    counted for throttling and logged, without the password."""
    login = (login or "").strip()[:254]
    now = utcnow()
    with ctx.sessions() as session:
        account = _find(session, login)
        stored = account.password_hash if account is not None else None
    try:
        ok = _hasher.verify(stored or _DUMMY_HASH, password or "") and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None or account.disabled:
        with ctx.sessions() as session, session.begin():
            session.add(SignInFailure(login=login.lower(), client=client[:64], at=now))
            audit.record(session, actor=(account.name if account else login[:64]) or "-",
                         action=Action.SIGN_IN, outcome=Outcome.REFUSED, client=client,
                         detail="wrong name or password" if not account or not account.disabled
                         else "account disabled")
        logger.warning("failed sign-in for %r from %s", login[:64], client)
        raise SignInError()
    with ctx.sessions() as session, session.begin():
        account = session.get(Account, account.name)
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = _hasher.hash(password)
        # A success forgives the name's earlier failures, not the client's.
        session.execute(delete(SignInFailure).where(SignInFailure.login.in_(
            [account.name.lower()] + ([account.email] if account.email else []))))
        audit.record(session, actor=account.name, action=Action.SIGN_IN, client=client)
        return actor_for(session, account)


def set_password(ctx: PortalContext, *, actor: Actor, current: str, new: str) -> None:
    check_password(new)
    with ctx.sessions() as session, session.begin():
        account = session.get(Account, actor.name)
        try:
            _hasher.verify(account.password_hash or _DUMMY_HASH, current)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise ValidationError({"current": _("wrong password")}) from None
        account.password_hash = _hasher.hash(new)


# -- browser sessions ---------------------------------------------------------------------------
def start_session(ctx: PortalContext, *, account_name: str) -> str:
    """A new browser session; the token goes into the cookie, its hash into the database."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with ctx.sessions() as session, session.begin():
        session.add(WebSession(token_hash=token_hash(token), account_name=account_name,
                               created_at=now, last_seen_at=now,
                               expires_at=now + timedelta(hours=ctx.settings.session_max_hours)))
    return token


# Touching last_seen_at on every rerun would write on every click; a minute is fine-grained
# enough for an idle timeout counted in tens of minutes.
_TOUCH_EVERY = timedelta(minutes=1)


def resolve_session(ctx: PortalContext, token: str | None, *,
                    now: datetime | None = None) -> Actor | None:
    """The actor of a session token, or None when it is unknown, ended, idle too long or past
    its lifetime. Each use moves the idle deadline."""
    if not token:
        return None
    now = now or utcnow()
    idle = timedelta(minutes=ctx.settings.session_idle_minutes)
    with ctx.sessions() as session, session.begin():
        web = session.get(WebSession, token_hash(token))
        if web is None or web.ended_at is not None:
            return None
        if now >= web.expires_at or now - web.last_seen_at >= idle:
            web.ended_at = now
            return None
        account = session.get(Account, web.account_name)
        if account is None or account.disabled:
            web.ended_at = now
            return None
        if now - web.last_seen_at >= min(_TOUCH_EVERY, idle / 4):
            web.last_seen_at = now
        return actor_for(session, account)


def end_session(ctx: PortalContext, token: str | None, *, client: str | None = None) -> None:
    if not token:
        return
    with ctx.sessions() as session, session.begin():
        web = session.get(WebSession, token_hash(token))
        if web is None or web.ended_at is not None:
            return
        web.ended_at = utcnow()
        audit.record(session, actor=web.account_name, action=Action.SIGN_OUT, client=client)


def start_oidc_session(ctx: PortalContext, *, email: str | None, client: str) -> str | None:
    """A browser session for the account an identity provider vouched for, audited as a
    sign-in; None (also audited) when the e-mail is on no roster."""
    actor = actor_by_email(ctx, email)
    with ctx.sessions() as session, session.begin():
        audit.record(session, actor=actor.name if actor else (email or "-")[:64],
                     action=Action.SIGN_IN, client=client,
                     outcome=Outcome.SUCCEEDED if actor else Outcome.REFUSED,
                     detail=f"identity provider, e-mail {email}" if actor else
                     f"identity provider: {email or 'no verified e-mail'} is on no roster")
    if actor is None:
        return None
    return start_session(ctx, account_name=actor.name)


# -- the first start ----------------------------------------------------------------------------
def _token_path(ctx: PortalContext) -> Path:
    return ctx.settings.data_dir / SETUP_TOKEN_FILE


def setup_needed(ctx: PortalContext) -> bool:
    with ctx.sessions() as session:
        return session.scalar(select(Account.name).where(
            Account.role == Role.INSTRUCTOR.value).limit(1)) is None


def setup_token(ctx: PortalContext) -> str | None:
    """The one-time token that lets the first visitor create the first instructor, while no
    instructor exists; None after. Kept owner-only in the data directory, so that every portal
    process of this data directory accepts the same token and a restart keeps it."""
    path = _token_path(ctx)
    if not setup_needed(ctx):
        path.unlink(missing_ok=True)
        return None
    try:
        token = path.read_text().strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(18)
    # Created 0600 in one step: the token admits whoever reads it as an admin.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return token


def complete_setup(ctx: PortalContext, *, token: str, name: str, password: str,
                   email: str | None = None, client: str | None = None) -> Actor:
    """Create the first instructor (an admin) with the setup token; the token is spent."""
    if not setup_needed(ctx):
        raise PermissionDeniedError(_("setup: the portal already has an instructor; sign in"))
    try:
        # Read, never made here: a token another visitor spent a moment ago stays spent.
        expected = _token_path(ctx).read_text().strip()
    except FileNotFoundError:
        raise PermissionDeniedError(_("setup: the setup token was used a moment ago; sign in")) \
            from None
    if not hmac.compare_digest(expected, (token or "").strip()):
        audit.record_now(ctx, actor=(name or "-")[:64], action=Action.SETUP,
                         outcome=Outcome.REFUSED, client=client, detail="wrong setup token")
        raise ValidationError({"token": _("wrong setup token: copy it from the portal's log")})
    check_password(password)
    # Spent before anything is created: a rename is atomic, so of two visitors with the token
    # at the same instant exactly one goes on, whatever names they chose.
    path = _token_path(ctx)
    spent = path.with_name(f"{SETUP_TOKEN_FILE}.{secrets.token_hex(4)}")
    try:
        path.rename(spent)
    except FileNotFoundError:
        raise PermissionDeniedError(_("setup: the setup token was used a moment ago; sign in")) \
            from None
    try:
        with ctx.sessions() as session, session.begin():
            if session.scalar(select(Account.name).where(Account.role == Role.INSTRUCTOR.value)
                              .limit(1)) is not None:
                raise PermissionDeniedError(
                    _("setup: the portal already has an instructor; sign in"))
            account = add_account(session, actor=None, name=name, role=Role.INSTRUCTOR,
                                  email=email, is_admin=True, password=password, client=client)
            audit.record(session, actor=name, action=Action.SETUP, target=name, client=client)
            actor = actor_for(session, account)
    except ValidationError:
        spent.rename(path)  # a bad name or e-mail: the token stays good for a second try
        raise
    spent.unlink(missing_ok=True)
    return actor
