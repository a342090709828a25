"""What the class's environments cost, metered at the current instant: each environment's hourly
price times the time it held resources, not a bill that arrives a day late.

An environment costs from the start of its launch run until the end of the first run after which
nothing of it is left: a destroy that succeeded, or a failed launch whose own clean-up removed
everything (AWS bills what a failed launch created until it is deleted, and the clean-up is part
of the launch run). Until then it holds resources and costs up to now: launching, ready,
destroying, a failed launch or destroy that left resources behind. A `lost` environment stopped
costing when the portal found it gone (its emulator's memory or its stack no longer exists).

The price is the one stored on the environment at launch (`Environment.hourly_cost_usd`), or for
rows without one, the template's price table price for its parameters and region now. The whole
environment is priced while it runs, failed launches included: the portal does not price
resources one by one after launch, so a partial launch costs at most what it shows.

Two queries read everything (environments, then their runs); pandas does the shaping, so a class
of hundreds of environments costs no more round trips than one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from cachetools import LRUCache
from sqlalchemy import ColumnElement, and_, select

from services import cost_service, template_model
from services.context import PortalContext
from services.errors import PortalError
from services.history.models import Environment, EnvironmentStatus, Run, RunKind, RunStatus, utcnow
from services.identity import Actor
from services.monitoring.filters import DashboardFilter
from services.render_service import RenderedTemplate, cloudformation_parameters, validate_parameters

HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
DEFAULT_TOP = 5
# environment_service.run_launch appends this to a failed launch's error when its clean-up itself
# crashed: the run then records no leftovers, yet nothing says the resources are gone.
CLEANUP_FAILED_MARK = "clean-up failed"
# Below a hundredth of a cent a rate or an amount is float residue, not money.
_EPSILON = 1e-9

# -- the hourly price of an environment ---------------------------------------------------------
# None is kept too: a template that prices at nothing is not priced again.
_prices: LRUCache[tuple[str, ...], float | None] = LRUCache(maxsize=512)
_prices_lock = threading.Lock()


def hourly_cost_usd(ctx: PortalContext, *, template_id: str, parameters: Mapping[str, Any],
                    region: str) -> float | None:
    """What an environment of `template_id` with `parameters` costs per hour in `region`, from
    the portal's price table; None when nothing of it is priced (an unknown template, a region
    the table lacks, parameters the template no longer accepts).

    Cached by template, parameters, region and UTC day: prices that start on a date (RDS Extended
    Support) change with the day, nothing else does while the process runs.
    """
    day = utcnow().date()
    key = (str(ctx.catalog.templates_dir), template_id,
           json.dumps(dict(parameters), sort_keys=True, default=str), region, day.isoformat())
    with _prices_lock:
        if key in _prices:
            return _prices[key]
    price = _priced(ctx, template_id=template_id, parameters=parameters, region=region, on=day)
    with _prices_lock:
        _prices[key] = price
    return price


def _priced(ctx: PortalContext, *, template_id: str, parameters: Mapping[str, Any], region: str,
            on: date) -> float | None:
    try:
        manifest = ctx.catalog.get_template(template_id)
        values = validate_parameters(manifest, parameters)
        # Only the CloudFormation is priced: the Terraform files need not be rendered for it.
        rendered = RenderedTemplate(
            template_id=template_id, terraform_files={},
            cloudformation_template=ctx.catalog.cloudformation_text(template_id),
            cloudformation_parameters=cloudformation_parameters(manifest, values))
        estimate = cost_service.estimate(template_model.resolve_rendered(rendered, region=region),
                                         hours=1, template_id=template_id, on=on)
    except PortalError:
        return None
    if not estimate.priced_lines:
        return None
    return float(estimate.total_hourly_usd)


# -- the result -----------------------------------------------------------------------------------
# Not comparable: its DataFrames have no single truth value.
@dataclass(frozen=True, eq=False)
class ClassCost:
    """Cost of the environments a dashboard filter chose, as of `now`.

    `total_usd` is metered inside the window (up to now); `projected_usd` adds what the
    environments running now will cost until their leases end, when the portal destroys them.
    Budgets count everything a student spent in the chosen courses, every template and before the
    window too: a shorter window must not make a student look under budget.
    """

    filter: DashboardFilter
    now: datetime
    budget_usd: float
    total_usd: float
    projected_usd: float
    # Environments that ran inside the window, and those of them holding resources now.
    environments: int
    running_now: int
    # Environments of the window without a price: they count as nothing in every total.
    unpriced: list[str]
    # Clouds the environments of the window ran on (embedded, localstack, aws).
    clouds: list[str]
    # env_id, owner, course, template_id, cloud, status, hourly_cost_usd, started_at, ended_at
    # (NaT while running), running, expires_at, hours, cost_usd, lease_left_hours, projected_usd
    per_environment: pd.DataFrame
    # owner, environments, running, cost_usd, projected_usd; then budget: spent_usd,
    # projected_spent_usd, remaining_usd, projected_remaining_usd, budget_used_pct,
    # over_budget, crosses_budget_at (NaT when the projection stays inside the budget)
    per_student: pd.DataFrame
    # template_id, environments, running, cost_usd, projected_usd
    per_template: pd.DataFrame
    # day (UTC midnight), template_id, cost_usd: one row per day and template that cost something
    per_day: pd.DataFrame
    # owner, at, remaining_usd, projected (False up to now, True after; the point at now is in
    # both so the two lines meet)
    burn_down: pd.DataFrame

    @property
    def students(self) -> int:
        return len(self.per_student)

    @property
    def budget_used_pct(self) -> float:
        """What the students of the view spent, against the budgets of all of them together."""
        if self.per_student.empty:
            return 0.0
        return float(self.per_student["spent_usd"].sum() / (self.budget_usd * self.students)
                     * 100)

    @property
    def students_over_budget(self) -> int:
        return int(self.per_student["over_budget"].sum()) if not self.per_student.empty else 0

    @property
    def on_embedded_cloud(self) -> int:
        """How many environments of the window ran on the embedded cloud, which bills nothing."""
        if self.per_environment.empty:
            return 0
        return int((self.per_environment["cloud"] == "embedded").sum())

    def top_spenders(self, n: int = DEFAULT_TOP) -> pd.DataFrame:
        ranked = self.per_student.sort_values(["cost_usd", "owner"], ascending=[False, True])
        return ranked.head(n).reset_index(drop=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "window": {"start": self.filter.start.isoformat(), "end": self.filter.end.isoformat(),
                       "courses": list(self.filter.courses), "owners": list(self.filter.owners),
                       "templates": list(self.filter.templates)},
            "now": self.now.isoformat(),
            "budget_usd": self.budget_usd,
            "total_usd": self.total_usd,
            "projected_usd": self.projected_usd,
            "budget_used_pct": self.budget_used_pct,
            "environments": self.environments,
            "running_now": self.running_now,
            "students_over_budget": self.students_over_budget,
            "unpriced": list(self.unpriced),
            "clouds": list(self.clouds),
            "per_environment": records(self.per_environment),
            "per_student": records(self.per_student),
            "per_template": records(self.per_template),
            "per_day": records(self.per_day),
            "burn_down": records(self.burn_down),
        }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: times in ISO 8601, missing values as None."""
    rows = []
    for row in frame.to_dict("records"):
        rows.append({column: _plain(value) for column, value in row.items()})
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | datetime):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    return value


# -- reading --------------------------------------------------------------------------------------
_ENV_COLUMNS = ["env_id", "owner", "course", "template_id", "cloud", "status", "region",
                "parameters", "created_at", "updated_at", "expires_at", "hourly_cost_usd"]
_TIME_UNIT = "datetime64[us, UTC]"
_TIME_COLUMNS = ("created_at", "updated_at", "expires_at", "started_at", "ended_at")


def _budget_scope(chosen: DashboardFilter, now: datetime) -> ColumnElement[bool]:
    """Every environment whose cost counts toward the budgets of the chosen students: their
    courses, all templates, from the first launch on."""
    clauses: list[ColumnElement[bool]] = [Environment.created_at <= now]
    if chosen.courses:
        clauses.append(Environment.course.in_(chosen.courses))
    if chosen.owners:
        clauses.append(Environment.owner.in_(chosen.owners))
    return and_(*clauses)


def _frame(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    for column in _TIME_COLUMNS:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _load_rows(ctx: PortalContext, chosen: DashboardFilter,
               now: datetime) -> tuple[list[Any], list[Any]]:
    scope = _budget_scope(chosen, now)
    with ctx.sessions() as session:
        envs = session.execute(select(
            Environment.id.label("env_id"), Environment.owner, Environment.course,
            Environment.template_id, Environment.cloud, Environment.status, Environment.region,
            Environment.parameters, Environment.created_at, Environment.updated_at,
            Environment.expires_at, Environment.hourly_cost_usd).where(scope)).all()
        runs = session.execute(select(
            Run.env_id, Run.id.label("run_id"), Run.kind, Run.status, Run.started_at,
            Run.ended_at, Run.leftovers,
            Run.error.contains(CLEANUP_FAILED_MARK).label("cleanup_failed"))
            .where(Run.env_id.in_(select(Environment.id).where(scope)))).all()
    return envs, runs


# -- metering -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Lifetime:
    """One environment's metering facts: its row, when it started and stopped costing, and its
    price per hour (None: unpriced)."""

    env: Any
    started_at: datetime
    ended_at: datetime | None
    price: float | None

    @property
    def running(self) -> bool:
        return self.ended_at is None

    def hours(self, now: datetime) -> float:
        return max(0.0, ((self.ended_at or now) - self.started_at).total_seconds() / 3600)


def _cleaned_up(run: Any) -> bool:
    """A run after which the environment costs nothing: a destroy that succeeded, or a failed
    launch whose clean-up left nothing (and did not itself fail)."""
    if run.kind == RunKind.DESTROY.value:
        return run.status == RunStatus.SUCCEEDED.value
    return (run.kind == RunKind.LAUNCH.value and run.status == RunStatus.FAILED.value
            and isinstance(run.leftovers, list) and not run.leftovers
            and not run.cleanup_failed)


def _lifetime_rows(ctx: PortalContext, envs: list[Any], runs: list[Any],
                   now: datetime) -> list[_Lifetime]:
    """Per environment: price, when it started and stopped costing, whether it still runs.

    Plain Python over the rows: a launch meters one student's few environments, where building
    data frames would cost more than the arithmetic; the dashboards frame the result."""
    started: dict[str, datetime] = {}
    stopped: dict[str, datetime] = {}
    for run in runs:
        if run.kind == RunKind.LAUNCH.value and run.started_at is not None:
            first = started.get(run.env_id)
            started[run.env_id] = run.started_at if first is None else min(first, run.started_at)
        # The first run that left nothing ends the cost: a destroy the portal starts afterwards
        # (at the lease's end, for a failed launch) removes nothing more.
        if run.ended_at is not None and _cleaned_up(run):
            first = stopped.get(run.env_id)
            stopped[run.env_id] = run.ended_at if first is None else min(first, run.ended_at)
    gone = (EnvironmentStatus.LOST.value, EnvironmentStatus.DESTROYED.value)
    lives = []
    for env in envs:
        ended = stopped.get(env.env_id)
        if ended is None and env.status in gone:
            ended = env.updated_at
        lives.append(_Lifetime(
            env=env, started_at=min(started.get(env.env_id, env.created_at), now),
            ended_at=min(ended, now) if ended is not None else None,
            price=_price_of(ctx, env)))
    return lives


def _price_of(ctx: PortalContext, env: Any) -> float | None:
    """The stored launch price, else today's price table price."""
    if env.hourly_cost_usd is not None:
        return float(env.hourly_cost_usd)
    return hourly_cost_usd(ctx, template_id=env.template_id, parameters=env.parameters or {},
                           region=env.region)


def _lifetimes(ctx: PortalContext, envs: list[Any], runs: list[Any],
               now: datetime) -> pd.DataFrame:
    """`_lifetime_rows` as the dashboards' frame: the environment's columns, then started_at,
    ended_at, running and price."""
    lives = _lifetime_rows(ctx, envs, runs, now)
    frame = _frame([tuple(life.env) for life in lives], _ENV_COLUMNS)
    # Microseconds, as the database's times are: a coarser unit could not hold the moment
    # `now` that running environments' ends are filled with.
    frame["started_at"] = pd.to_datetime(pd.Series([life.started_at for life in lives],
                                                   dtype=object), utc=True).astype(_TIME_UNIT)
    frame["ended_at"] = pd.to_datetime(pd.Series([life.ended_at for life in lives],
                                                 dtype=object), utc=True).astype(_TIME_UNIT)
    frame["running"] = [life.running for life in lives]
    frame["price"] = pd.Series([np.nan if life.price is None else life.price for life in lives],
                               dtype="float64")
    return frame


def _hours(start: pd.Series, end: pd.Series) -> pd.Series:
    return ((end - start) / HOUR).clip(lower=0).astype("float64")


def _per_day(view: pd.DataFrame) -> pd.DataFrame:
    """Each environment's cost split at UTC midnights, to the exact second on either side."""
    columns = ["day", "template_id", "cost_usd"]
    spans = view[(view["hours"] > 0) & view["price"].notna()]
    if spans.empty:
        return pd.DataFrame({"day": pd.Series(dtype="datetime64[us, UTC]"),
                             "template_id": pd.Series(dtype="object"),
                             "cost_usd": pd.Series(dtype="float64")})
    first = spans["view_start"].dt.floor("D")
    # The end is exclusive: an environment stopping at midnight costs nothing on the next day.
    last = (spans["view_end"] - pd.Timedelta(microseconds=1)).dt.floor("D")
    days = ((last - first) / DAY).astype(int) + 1
    rows = spans.loc[spans.index.repeat(days)].copy()
    rows["day"] = first.loc[rows.index] + pd.to_timedelta(
        rows.groupby(level=0).cumcount(), unit="D")
    start = rows[["view_start", "day"]].max(axis=1)
    end = pd.concat([rows["view_end"], rows["day"] + DAY], axis=1).min(axis=1)
    rows["cost_usd"] = _hours(start, end) * rows["price"]
    daily = rows.groupby(["day", "template_id"], as_index=False)["cost_usd"].sum()
    return daily[daily["cost_usd"] > _EPSILON][columns].reset_index(drop=True)


def _spend_curves(lives: pd.DataFrame, *, owners: list[str], now: pd.Timestamp,
                  marks: list[pd.Timestamp]) -> pd.DataFrame:
    """Per owner, cumulative spend at every moment its rate changes, and at `marks`.

    Between two such moments the spend grows linearly at the sum of the prices of what runs, so
    the points describe the curve exactly. Metered until now, projected after: environments
    running now go on until their lease ends.
    """
    lives = lives[lives["owner"].isin(owners) & lives["price"].notna()]
    metered = lives[["owner", "started_at", "price"]].assign(
        ended_at=lives["ended_at"].fillna(now))
    running = lives[lives["running"] & (lives["expires_at"] > now)]
    projected = pd.DataFrame({"owner": running["owner"], "started_at": now,
                              "price": running["price"], "ended_at": running["expires_at"]})
    spans = pd.concat([metered, projected], ignore_index=True)
    spans = spans[spans["ended_at"] > spans["started_at"]]
    changes = pd.concat([
        pd.DataFrame({"owner": spans["owner"], "at": spans["started_at"], "rate": spans["price"]}),
        pd.DataFrame({"owner": spans["owner"], "at": spans["ended_at"], "rate": -spans["price"]}),
        pd.DataFrame([(owner, mark, 0.0) for owner in owners for mark in marks],
                     columns=["owner", "at", "rate"]),
    ], ignore_index=True)
    changes = changes.astype({"owner": "object", "rate": "float64"})
    changes["at"] = pd.to_datetime(changes["at"], utc=True)
    curve = changes.groupby(["owner", "at"], as_index=False)["rate"].sum()
    curve = curve.sort_values(["owner", "at"], ignore_index=True)
    by_owner = curve.groupby("owner")
    curve["rate"] = by_owner["rate"].cumsum()  # USD per hour from this moment to the next
    step = (by_owner["at"].shift(-1) - curve["at"]) / HOUR * curve["rate"]
    curve["spent_usd"] = step.fillna(0.0).groupby(curve["owner"]).cumsum() - step.fillna(0.0)
    return curve


def _crossings(curve: pd.DataFrame, budget: float) -> pd.Series:
    """The moment each owner's spend reaches the budget, on the curve (metered or projected)."""
    over = curve[curve["spent_usd"] >= budget - _EPSILON]
    first = over.groupby("owner").head(1)
    crossings: dict[str, pd.Timestamp] = {}
    for index, point in first.iterrows():
        before = curve.loc[index - 1] if index > 0 else None
        if before is None or before["owner"] != point["owner"] or before["rate"] <= _EPSILON:
            crossings[point["owner"]] = point["at"]
            continue
        hours_to_budget = (budget - before["spent_usd"]) / before["rate"]
        crossings[point["owner"]] = before["at"] + hours_to_budget * HOUR
    return pd.Series(crossings, dtype="datetime64[us, UTC]")


def _midnights(start: datetime, end: datetime) -> list[pd.Timestamp]:
    first = pd.Timestamp(start).ceil("D")
    return list(pd.date_range(first, pd.Timestamp(end), freq="D")) if first <= end else []


def _budget_of(ctx: PortalContext, chosen: DashboardFilter) -> float:
    """Each student's budget in the view: the course's own when one course is chosen (the same
    for every course chosen), else the portal's default."""
    from services.courses import get_policy

    budgets = {policy.budget_usd for course in chosen.courses
               if (policy := get_policy(ctx, course)) is not None}
    if len(budgets) == 1:
        return float(budgets.pop())
    return float(ctx.settings.student_budget_usd)


# -- reuse between calls ----------------------------------------------------------------------------
# A dashboard asks without `now` (live): it is metered at the last whole LIVE_STEP_S mark, and its
# window moved onto the same marks, so that every session drawing the class within those seconds
# (and each redraw of one) shares one computation. Whatever `now`, a result is reused only for the
# very rows it was computed from: the environments and runs are read on every call (two small
# queries, up to the real moment) and compared whole, so a launch, a destroy, a run ending or a
# lease extended is seen at once. When a row changed after the mark (a launch recorded a second
# ago, a run that just started or ended), a live call is metered just after that change instead:
# metered at the mark, an environment launched since would not exist yet. That moment too is the
# same for every session reading the same rows.
LIVE_STEP_S = 5
_costs: LRUCache[tuple[Any, ...], ClassCost] = LRUCache(maxsize=16)
_costs_lock = threading.Lock()


def _on_step(moment: datetime) -> datetime:
    seconds = moment.timestamp()
    return datetime.fromtimestamp(seconds - seconds % LIVE_STEP_S, tz=UTC)


def _live_now(moment: datetime, envs: list[Any], runs: list[Any]) -> datetime:
    """The instant a live call asked at `moment` is metered at: the last LIVE_STEP_S mark, or,
    when a row changed after it, a microsecond after the latest change (the history database
    keeps microseconds), so that the change shows. A change stamped after `moment` (another
    machine's clock) leaves `moment` itself."""
    mark = _on_step(moment)
    changes = [*(t for env in envs for t in (env.created_at, env.updated_at)),
               *(t for run in runs for t in (run.started_at, run.ended_at))]
    latest = max((t for t in changes if t is not None), default=None)
    if latest is None or latest < mark:
        return mark
    return min(moment, latest + timedelta(microseconds=1))


def _live(chosen: DashboardFilter, now: datetime) -> DashboardFilter:
    """The window on LIVE_STEP_S marks, ending at `now` when it reaches that far (unchanged if
    that would leave it empty)."""
    start = _on_step(chosen.start)
    end = now if chosen.end >= now else _on_step(chosen.end)
    if end <= start:
        return chosen
    return replace(chosen, start=start, end=end)


def _shared(cost: ClassCost) -> ClassCost:
    """A kept result as the caller's own: frames and lists it may change without harm."""
    return replace(cost, unpriced=list(cost.unpriced), clouds=list(cost.clouds),
                   per_environment=cost.per_environment.copy(),
                   per_student=cost.per_student.copy(), per_template=cost.per_template.copy(),
                   per_day=cost.per_day.copy(), burn_down=cost.burn_down.copy())


def class_cost(ctx: PortalContext, *, actor: Actor, filter: DashboardFilter,  # noqa: A002
               now: datetime | None = None) -> ClassCost:
    """The cost of the environments `filter` chooses (a student's own only), as of `now`
    (default: the last LIVE_STEP_S mark, or just after a change since; see above)."""
    chosen = filter.for_actor(actor)
    if now is None:
        moment = utcnow()
        envs, runs = _load_rows(ctx, chosen, moment)
        now = _live_now(moment, envs, runs)
        chosen = _live(chosen, now)
    else:
        envs, runs = _load_rows(ctx, chosen, now)
    budget = _budget_of(ctx, chosen)
    key = (ctx.settings.effective_database_url, str(ctx.catalog.templates_dir), chosen, now,
           budget, repr(envs), repr(runs))
    with _costs_lock:
        cached = _costs.get(key)
    if cached is None:
        cached = _class_cost(ctx, chosen=chosen, now=now, budget=budget, envs=envs, runs=runs)
        with _costs_lock:
            _costs[key] = cached
    return _shared(cached)


def _class_cost(ctx: PortalContext, *, chosen: DashboardFilter, now: datetime, budget: float,
                envs: list[Any], runs: list[Any]) -> ClassCost:
    at_now = pd.Timestamp(now).tz_convert(UTC)
    lives = _lifetimes(ctx, envs, runs, now)

    window_start = pd.Timestamp(chosen.start).tz_convert(UTC)
    window_end = min(pd.Timestamp(chosen.end).tz_convert(UTC), at_now)
    lives["view_start"] = lives["started_at"].clip(lower=window_start)
    lives["view_end"] = lives["ended_at"].fillna(at_now).clip(upper=window_end)
    lives["hours"] = _hours(lives["view_start"], lives["view_end"])
    in_view = lives["view_end"] > lives["view_start"]
    if chosen.templates:
        in_view &= lives["template_id"].isin(chosen.templates)
    view = lives[in_view].copy()
    view["cost_usd"] = (view["hours"] * view["price"]).fillna(0.0)
    view["lease_left_hours"] = np.where(view["running"],
                                        _hours(pd.Series(at_now, index=view.index),
                                               view["expires_at"]).fillna(0.0), 0.0)
    view["projected_usd"] = view["cost_usd"] + (view["lease_left_hours"]
                                                * view["price"]).fillna(0.0)
    view = view.sort_values(["owner", "started_at"], ignore_index=True)

    owners = sorted(view["owner"].unique().tolist())
    curve = _spend_curves(lives, owners=owners, now=at_now,
                          marks=[window_start, at_now, *_midnights(window_start, at_now)])
    per_template = view.groupby("template_id", as_index=False).agg(
        environments=("env_id", "size"), running=("running", "sum"),
        cost_usd=("cost_usd", "sum"), projected_usd=("projected_usd", "sum"))
    return ClassCost(
        filter=chosen, now=now, budget_usd=budget,
        total_usd=float(view["cost_usd"].sum()),
        projected_usd=float(view["projected_usd"].sum()),
        environments=len(view), running_now=int(view["running"].sum()),
        unpriced=sorted(view.loc[view["price"].isna(), "env_id"].tolist()),
        clouds=sorted(view["cloud"].unique().tolist()),
        per_environment=view[[
            "env_id", "owner", "course", "template_id", "cloud", "status", "price",
            "started_at", "ended_at", "running", "expires_at", "hours", "cost_usd",
            "lease_left_hours", "projected_usd"]].rename(columns={"price": "hourly_cost_usd"}),
        per_student=_per_student(view, curve, owners=owners, budget=budget, now=at_now),
        per_template=per_template.astype({"running": "int64"}),
        per_day=_per_day(view),
        burn_down=_burn_down(curve, budget=budget, now=at_now, window_start=window_start),
    )


def _per_student(view: pd.DataFrame, curve: pd.DataFrame, *, owners: list[str], budget: float,
                 now: pd.Timestamp) -> pd.DataFrame:
    columns = ["owner", "environments", "running", "cost_usd", "projected_usd", "spent_usd",
               "projected_spent_usd", "remaining_usd", "projected_remaining_usd",
               "budget_used_pct", "over_budget", "crosses_budget_at"]
    students = view.groupby("owner").agg(
        environments=("env_id", "size"), running=("running", "sum"),
        cost_usd=("cost_usd", "sum"), projected_usd=("projected_usd", "sum"))
    students = students.reindex(owners)
    spent_now = curve[curve["at"] == now].set_index("owner")["spent_usd"]
    students["spent_usd"] = spent_now.reindex(owners).fillna(0.0)
    students["projected_spent_usd"] = curve.groupby("owner")["spent_usd"].max() \
        .reindex(owners).fillna(0.0)
    students["remaining_usd"] = budget - students["spent_usd"]
    students["projected_remaining_usd"] = budget - students["projected_spent_usd"]
    students["budget_used_pct"] = students["spent_usd"] / budget * 100
    students["over_budget"] = students["spent_usd"] >= budget - _EPSILON
    students["crosses_budget_at"] = _crossings(curve, budget).reindex(owners)
    students = students.rename_axis("owner").reset_index()
    return students.astype({"running": "int64", "environments": "int64"})[columns]


def _burn_down(curve: pd.DataFrame, *, budget: float, now: pd.Timestamp,
               window_start: pd.Timestamp) -> pd.DataFrame:
    shown = curve[curve["at"] >= window_start]
    metered = shown[shown["at"] <= now].assign(projected=False)
    projected = shown[shown["at"] >= now].assign(projected=True)
    # Only where something runs on past now: elsewhere the projection is the point at now alone.
    projected = projected[projected.groupby("owner")["at"].transform("size") > 1]
    frame = pd.concat([metered, projected], ignore_index=True)
    frame["remaining_usd"] = budget - frame["spent_usd"]
    return frame[["owner", "at", "remaining_usd", "projected"]].sort_values(
        ["owner", "projected", "at"], ignore_index=True)


def budget_day(crosses_at: datetime | pd.Timestamp | None) -> date | None:
    """The UTC day of a budget crossing, for people."""
    if crosses_at is None or pd.isna(crosses_at):
        return None
    return pd.Timestamp(crosses_at).tz_convert(UTC).date()



# -- what one student has spent in one course, for the limits -----------------------------------
@dataclass(frozen=True)
class StudentSpend:
    owner: str
    course: str
    # Metered up to now.
    spent_usd: float
    # What the student's running environments will still cost until their leases end.
    committed_usd: float
    running: int

    @property
    def total_usd(self) -> float:
        return self.spent_usd + self.committed_usd


def spend_by_student(ctx: PortalContext, *, course: str, owners: list[str] | None = None,
                     now: datetime | None = None) -> dict[str, StudentSpend]:
    """Each student's spend in `course` as of `now`, from the same metering as the dashboards;
    students with nothing launched are absent."""
    now = now or utcnow()
    scope = DashboardFilter(start=now - timedelta(days=1), end=now, courses=(course,),
                            owners=tuple(owners or ()))
    envs, runs = _load_rows(ctx, scope, now)
    totals: dict[str, StudentSpend] = {}
    for life in _lifetime_rows(ctx, envs, runs, now):
        owner, price = life.env.owner, life.price or 0.0
        left = (max(0.0, (life.env.expires_at - now).total_seconds() / 3600)
                if life.running and life.env.expires_at is not None else 0.0)
        before = totals.get(owner) or StudentSpend(owner=owner, course=course, spent_usd=0.0,
                                                   committed_usd=0.0, running=0)
        totals[owner] = StudentSpend(
            owner=owner, course=course, spent_usd=before.spent_usd + life.hours(now) * price,
            committed_usd=before.committed_usd + left * price,
            running=before.running + int(life.running))
    return totals
