"""Whether each cloud target is usable now, who the portal is there, and how to make it usable.

A target is usable when it answers STS `GetCallerIdentity`: the one call every credential may make,
so it proves the endpoint answers and the credentials are accepted, and it names the account and
identity launches will run as. The embedded cloud is usable too when it is not running but can
start, because it starts on first use.

Every probe is one attempt with short timeouts: `sandbox cloud status` and a launch refused for an
unusable target must answer within seconds, not after botocore's retries against a port where
nothing listens or a metadata service that is not there. The launch path calls `require_usable`,
which keeps an answer for CACHE_S, so a class launching at once asks STS once, not thirty times.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)

from services.clouds import CloudConnection, embedded, localstack, new_session
from services.errors import TargetUnavailableError
from services.i18n import N_, _, current_locale
from services.settings import CloudTarget, Settings

# One attempt, and an endpoint that does not accept the connection within a second is down: a
# status that waits out botocore's defaults (60 s, several attempts) is no status.
PROBE_CONFIG = Config(connect_timeout=1.0, read_timeout=5.0,
                      retries={"mode": "standard", "total_max_attempts": 1})
# How long require_usable keeps an answer, usable or not.
CACHE_S = 10.0

AWS_CREDENTIALS_FIX = N_("set AWS_PROFILE to a profile in ~/.aws/config, or run `aws configure` "
                         "(access keys) or `aws sso login` (IAM Identity Center)")


@dataclass(frozen=True)
class TargetStatus:
    target: str
    usable: bool
    region: str
    endpoint_url: str | None = None
    # Who the portal is there, from STS GetCallerIdentity; None when it did not answer.
    account_id: str | None = None
    identity_arn: str | None = None
    # Whether the emulator's process runs now (embedded, and LocalStack the portal runs); None
    # for targets the portal does not run.
    running: bool | None = None
    reason: str | None = None
    fix: str | None = None
    # What else is known: pid, start time, versions, where the endpoint came from.
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {**data.pop("details"), **data}

    def raise_unless_usable(self) -> None:
        if not self.usable:
            raise TargetUnavailableError(target=self.target, reason=self.reason or _("unknown"),
                                         fix=self.fix)


def _held(connection: CloudConnection | None) -> AbstractContextManager[object]:
    # A Session is not thread-safe, and launches build clients from the connection's meanwhile.
    return connection._lock if connection is not None else nullcontext()


def _whoami(session: boto3.session.Session, *, region: str, endpoint_url: str | None,
            connection: CloudConnection | None = None) -> tuple[str, str]:
    """(account, identity ARN) from STS, with a client of its own: the connection's clients
    retry and wait far longer than a status may."""
    with _held(connection):
        sts = session.client("sts", region_name=region, endpoint_url=endpoint_url,
                             config=PROBE_CONFIG)
    identity = sts.get_caller_identity()
    return identity["Account"], identity["Arn"]


# The embedded cloud's STS client per (region, endpoint): its credentials never change, and a
# client built anew for every probe loaded botocore's models again, 0.3 s of CPU each time the
# status's cache ran out while pages were being drawn.
_embedded_sts_clients: dict[tuple[str, str | None], Any] = {}
_embedded_sts_lock = threading.Lock()
# An emulator restarted on another port leaves its old client behind; a few are kept.
_EMBEDDED_STS_KEPT = 4


def _embedded_sts(region: str, endpoint_url: str | None) -> Any:
    key = (region, endpoint_url)
    with _embedded_sts_lock:
        client = _embedded_sts_clients.get(key)
        if client is None:
            if len(_embedded_sts_clients) >= _EMBEDDED_STS_KEPT:
                _embedded_sts_clients.clear()
            session = new_session(region_name=region, **embedded.CREDENTIALS)
            client = _embedded_sts_clients[key] = session.client(
                "sts", region_name=region, endpoint_url=endpoint_url, config=PROBE_CONFIG)
        return client


def _unreachable(exc: Exception) -> bool:
    return isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
                            ConnectionClosedError))


def _aws_problem(exc: Exception, *, endpoint_url: str | None) -> tuple[str, str]:
    """(reason, fix) in plain words for what went wrong asking AWS who the portal is."""
    profile = os.environ.get("AWS_PROFILE")
    if isinstance(exc, NoCredentialsError):
        return (_("no AWS credentials found (no AWS_PROFILE or AWS_ACCESS_KEY_ID, nothing in "
                  "~/.aws/credentials or ~/.aws/config, no instance role)"),
                _(AWS_CREDENTIALS_FIX))
    if isinstance(exc, PartialCredentialsError):
        return (_("the AWS credentials are incomplete: {error}").format(error=exc),
                _(AWS_CREDENTIALS_FIX))
    if isinstance(exc, ProfileNotFound):
        return (_("the AWS profile {profile} named by AWS_PROFILE is not in ~/.aws/config")
                .format(profile=profile or ""),
                _("set AWS_PROFILE to a profile that exists, or run `aws configure --profile "
                  "{profile}`").format(profile=profile or "NAME"))
    if isinstance(exc, (SSOError, TokenRetrievalError)):
        login = f"aws sso login --profile {profile}" if profile else "aws sso login"
        return (_("the AWS SSO session has expired or was never started ({error})").format(
                    error=exc),
                _("run `{command}`").format(command=login))
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return (_("the AWS credentials have expired ({message})").format(message=message),
                    _("renew them: `aws sso login`, or new keys with `aws configure`"))
        if code in ("InvalidClientTokenId", "SignatureDoesNotMatch",
                    "UnrecognizedClientException", "AuthFailure"):
            return (_("AWS does not accept the credentials ({code}: {message})").format(
                        code=code, message=message),
                    _("check the access key and secret (`aws configure`), or {fix}").format(
                        fix=_(AWS_CREDENTIALS_FIX)))
        return (_("STS GetCallerIdentity failed ({code}: {message})").format(code=code,
                                                                            message=message),
                _("check the credentials' account and the region's STS endpoint"))
    if _unreachable(exc):
        where = endpoint_url or "STS"
        return (_("cannot reach {where}: {error}").format(where=where, error=exc),
                _("check the network, a proxy (HTTPS_PROXY) or AWS_ENDPOINT_URL"))
    return (f"{type(exc).__name__}: {exc}", _(AWS_CREDENTIALS_FIX))


# -- each target --------------------------------------------------------------------------------
def _aws_status(settings: Settings, connection: CloudConnection | None) -> TargetStatus:
    region = settings.region
    try:
        session = connection.session if connection else new_session(region_name=region)
        # Resolved first so that no credentials is told apart from an unreachable STS.
        with _held(connection):
            credentials = session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        sts_endpoint = os.environ.get("AWS_ENDPOINT_URL")
        account, arn = _whoami(session, region=region, endpoint_url=None,
                               connection=connection)
    except (BotoCoreError, ClientError) as exc:
        reason, fix = _aws_problem(exc, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
        return TargetStatus(CloudTarget.AWS.value, False, region, reason=reason, fix=fix,
                            details={"profile": os.environ.get("AWS_PROFILE")})
    return TargetStatus(CloudTarget.AWS.value, True, region,
                        endpoint_url=sts_endpoint or f"https://sts.{region}.amazonaws.com",
                        account_id=account, identity_arn=arn,
                        details={"profile": os.environ.get("AWS_PROFILE")})


def _localstack_status(settings: Settings,
                       connection: CloudConnection | None) -> TargetStatus:
    region = settings.region
    where = localstack.endpoint(settings)
    url = connection.endpoint_url if connection and connection.endpoint_url else where.url
    own = localstack.status(settings) if where.managed else None
    details: dict[str, Any] = {"endpoint_source": where.source,
                               "installed": localstack.installed(settings)}
    if own is not None and own.pid is not None:
        details.update(pid=own.pid, started_at=own.started_at)
    running = own.running if own is not None else None
    session = connection.session if connection else new_session(
        region_name=region, **localstack.CREDENTIALS)
    try:
        account, arn = _whoami(session, region=region, endpoint_url=url,
                               connection=connection)
    except (BotoCoreError, ClientError) as exc:
        reason, fix = _localstack_problem(exc, url=url, where=where, own=own)
        if url != where.url and own is not None and own.running:
            # This process connected before the portal's LocalStack started, or before it
            # moved to another port; its clients still point at the old address.
            reason = _("this portal process is connected to {url}, but LocalStack now runs at "
                       "{now}").format(url=url, now=where.url)
            fix = _("restart the portal (or the worker) so that it connects again")
        return TargetStatus(CloudTarget.LOCALSTACK.value, False, region, endpoint_url=url,
                            running=running, reason=reason, fix=fix, details=details)
    found = localstack.info(url)
    if found is not None:
        details["version"] = found.get("version")
    return TargetStatus(CloudTarget.LOCALSTACK.value, True, region, endpoint_url=url,
                        account_id=account, identity_arn=arn, running=running, details=details)


def _localstack_problem(exc: Exception, *, url: str, where: localstack.Endpoint,
                        own: localstack.LocalStackStatus | None) -> tuple[str, str]:
    """(reason, fix) for a LocalStack endpoint that did not say who the portal is."""
    if not _unreachable(exc):
        return (_("{url} answered STS GetCallerIdentity with {error}").format(
                    url=url, error=f"{type(exc).__name__}: {exc}"),
                _("check that {url} is LocalStack").format(url=url))
    if own is not None and (own.running or own.stalled):
        return (_("the portal's LocalStack at {url} runs but did not answer in time ({error})")
                .format(url=url, error=exc),
                _("try again in a moment; `sandbox cloud stop --target localstack` ends it, and "
                  "with it everything it holds"))
    if where.managed:
        gone = own is not None and own.pid is not None and own.reason
        return (_("the portal's LocalStack is not running: {reason}").format(reason=own.reason)
                if gone else _("nothing answers at {url}").format(url=url), localstack.START_FIX)
    return (_("nothing answers at {url} (from {setting})").format(
                url=url, setting=_setting_name(where.source)),
            _("start the LocalStack at {url}, or unset {setting} to use the one the portal "
              "runs: {command}").format(url=url, setting=_setting_name(where.source),
                                        command=localstack.START_FIX))


def _setting_name(source: str) -> str:
    return "PORTAL_LOCALSTACK_ENDPOINT" if source == "setting" else source


def _embedded_status(settings: Settings) -> TargetStatus:
    region = settings.region
    now = embedded.status(settings)
    details: dict[str, Any] = {"pid": now.pid, "boot_id": now.boot_id,
                               "started_at": now.started_at}
    if now.running:
        try:
            identity = _embedded_sts(region, now.endpoint_url).get_caller_identity()
            account, arn = identity["Account"], identity["Arn"]
        except (BotoCoreError, ClientError) as exc:
            return TargetStatus(CloudTarget.EMBEDDED.value, False, region,
                                endpoint_url=now.endpoint_url, running=True,
                                reason=_("the embedded cloud answers but STS failed: {error}")
                                .format(error=exc),
                                fix=_("`sandbox cloud stop --target embedded`, then try again "
                                      "(it ends every environment it holds)"),
                                details=details)
        return TargetStatus(CloudTarget.EMBEDDED.value, True, region,
                            endpoint_url=now.endpoint_url, account_id=account,
                            identity_arn=arn, running=True, details=details)
    if now.pid is not None and now.boot_id is not None \
            and embedded._is_emulator(now.pid, now.boot_id):
        # Its process exists but does not answer: a second emulator must not start beside it.
        return TargetStatus(CloudTarget.EMBEDDED.value, False, region,
                            endpoint_url=now.endpoint_url, running=True, reason=now.reason,
                            fix=_("wait a moment; `sandbox cloud stop --target embedded` ends "
                                  "it and every environment it holds"), details=details)
    if importlib.util.find_spec("moto") is None:
        return TargetStatus(CloudTarget.EMBEDDED.value, False, region, running=False,
                            reason=_("moto, which the embedded cloud runs on, is not "
                                     "installed"),
                            fix="make install", details=details)
    details["starts_on_first_use"] = True
    return TargetStatus(CloudTarget.EMBEDDED.value, True, region, running=False,
                        details=details)


def target_status(settings: Settings, target: CloudTarget | str) -> TargetStatus:
    """Whether `target` is usable now, who the portal is there, and if not why and the fix."""
    target = CloudTarget(target)
    if target is CloudTarget.EMBEDDED:
        return _embedded_status(settings)
    if target is CloudTarget.LOCALSTACK:
        return _localstack_status(settings, None)
    return _aws_status(settings, None)


# -- the launch path ----------------------------------------------------------------------------
_cache: dict[tuple[object, ...], tuple[float, TargetStatus]] = {}
_cache_lock = threading.Lock()
_key_locks: dict[tuple[object, ...], threading.Lock] = {}


def _connection_status(settings: Settings, connection: CloudConnection) -> TargetStatus:
    if connection.target is CloudTarget.EMBEDDED:
        # The connection may name an emulator that was restarted since; the launch reconnects
        # to the one that answers (PortalContext.ensure_current_connection), so that one counts.
        return _embedded_status(settings)
    if connection.target is CloudTarget.LOCALSTACK:
        return _localstack_status(settings, connection)
    return _aws_status(settings, connection)


def cached_status(settings: Settings,
                  connection: CloudConnection | None = None) -> TargetStatus:
    """The configured target's status (the connection's, when there is one), usable or not.

    Answers, usable or not, are kept CACHE_S per target and endpoint, and only one caller probes
    while the others wait for its answer: thirty launches at once cost one STS call, and thirty
    launches against a LocalStack that is down are all refused within one probe's time.
    """
    target = connection.target if connection is not None else settings.cloud
    key = (target.value, connection.endpoint_url if connection is not None else None,
           settings.region, str(settings.data_dir), settings.localstack_endpoint,
           current_locale())  # the reason and the fix are in the reader's language
    with _cache_lock:
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        cached = _cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            found = cached[1]
        else:
            found = (_connection_status(settings, connection) if connection is not None
                     else target_status(settings, target))
            _cache[key] = (time.monotonic(), found)
    return found


def require_usable(settings: Settings,
                   connection: CloudConnection | None = None) -> TargetStatus:
    """`cached_status`, raising TargetUnavailableError with the reason and the fix when the
    target is not usable."""
    found = cached_status(settings, connection)
    found.raise_unless_usable()
    return found


def forget_cached() -> None:
    """Drop every kept answer, e.g. after this process started or stopped a target."""
    with _cache_lock:
        _cache.clear()
