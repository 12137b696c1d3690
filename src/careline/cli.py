"""The `careline` command: serve, migrate, seed the demo, manage users, verify the audit log."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from careline.config import Settings
from careline.errors import CareLineError

app = typer.Typer(help="CareLine medical access center.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")


def fail(message: str, code: int = 2) -> None:
    """Print an error line and exit non-zero."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    """Settings from the environment, or a clear error line."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CARELINE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        fail(f"bad settings: {problems}")
        raise  # unreachable: fail() exits


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected errors into one 'error:' line and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CareLineError as exc:
            fail(exc.message)
        except ValueError as exc:
            fail(str(exc))

    return wrapper


def session_factory(s: Settings):
    """A session factory on the configured database."""
    from careline.db import make_engine, make_session_factory

    return make_session_factory(make_engine(s.database_url))


@app.command()
@handles_errors
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[int, typer.Option(help="app processes (PostgreSQL for more than one)")] = 1,
) -> None:
    """Serve the web app and API."""
    import uvicorn

    s = settings()
    if workers > 1 and s.is_sqlite:
        typer.echo("note: several workers on SQLite share one file and take turns writing", err=True)
    uvicorn.run(
        "careline.app:create_app",
        factory=True,
        host=host or s.host,
        port=port or s.port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


@app.command()
@handles_errors
def worker(
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between polls when idle")] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="run the jobs due now, then exit")] = False,
) -> None:
    """Run background jobs (escalation timers, hold expiry, message delivery) from the database."""
    from careline.jobs import worker as jobs_worker

    factory = session_factory(settings())
    if once:
        jobs_worker.load_handlers()
        typer.echo(f"ran {jobs_worker.run_due(factory)} job(s)")
        return
    typer.echo("worker running; Ctrl-C to stop")
    jobs_worker.run_forever(factory, interval=interval)


def _print_analysis(result: dict) -> None:
    typer.echo(f"disposition: {result['disposition']}")
    for flag in result["red_flags"]:
        typer.echo(f'RED FLAG {flag["kind"]}: "{flag["evidence"]}" ({flag["rule"]})')
    if result["symptoms"]:
        typer.echo("symptoms: " + ", ".join(s["evidence"] for s in result["symptoms"]))
    typer.echo("intents: " + (", ".join(result["intents"]) or "none"))
    typer.echo(f"advice: {result['advice']}")


def _analyze_jsonl(path: str) -> None:
    from careline.contacts.analyze import analyze as run

    source = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        for line_no, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["text"]
            except (json.JSONDecodeError, KeyError, TypeError):
                fail(f'{path}:{line_no}: expected a JSON object with a "text" field')
            result = run(text, age_years=row.get("age"), sex=row.get("sex"), pregnant=row.get("pregnant"))
            typer.echo(json.dumps({"id": row.get("id"), **result.to_dict()}))
    finally:
        if source is not sys.stdin:
            source.close()


@app.command()
@handles_errors
def analyze(
    text: Annotated[str | None, typer.Argument(help="what the caller said")] = None,
    age: Annotated[float | None, typer.Option(min=0, max=130, help="age in years (0.1 = ~5 weeks)")] = None,
    sex: Annotated[str | None, typer.Option(help="f or m")] = None,
    pregnant: Annotated[bool, typer.Option("--pregnant", help="the patient is pregnant")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    jsonl: Annotated[
        str | None, typer.Option("--jsonl", help="file of {id, text, age?, sex?} lines; - for stdin")
    ] = None,
) -> None:
    """Screen a text for red flags and caller intents (no database needed)."""
    from careline.contacts.analyze import analyze as run

    if jsonl:
        _analyze_jsonl(jsonl)
        return
    if not text or not text.strip():
        fail("give the text to analyze, or --jsonl FILE")
    if sex is not None and sex.lower() not in ("f", "m", "female", "male"):
        fail("--sex must be f or m")
    result = run(text, age_years=age, sex=sex, pregnant=pregnant or None).to_dict()
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_analysis(result)


@db_app.command("upgrade")
@handles_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "heads") -> None:
    """Apply database migrations."""
    from careline.migrate import refresh_statistics, upgrade

    upgrade(settings().database_url, revision)
    refresh_statistics(settings().database_url)
    typer.echo("database is up to date")


@db_app.command("downgrade")
@handles_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. -1 or base")]) -> None:
    """Step migrations back."""
    from careline.migrate import downgrade

    downgrade(settings().database_url, revision)
    typer.echo(f"database downgraded to {revision}")


@app.command()
@handles_errors
def demo(
    seed: Annotated[int, typer.Option(help="random seed: the same seed builds the same world")] = 7,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="do nothing when tenants already exist")
    ] = False,
    providers: Annotated[
        int | None, typer.Option(help="providers to make (default ~300; 100000 for a benchmark world)")
    ] = None,
    patients: Annotated[
        int | None, typer.Option(help="patients to make (default 2,000; 200000 for a benchmark world)")
    ] = None,
    history_days: Annotated[
        int, typer.Option(min=0, max=400, help="past days of simulated calls for the dashboards (0: none)")
    ] = 14,
) -> None:
    """Seed the demo world: tenants, one login per role, and two weeks of past calls."""
    from careline.demo.seed import seed_demo

    s = settings()
    result = seed_demo(
        session_factory(s),
        seed=seed,
        if_empty=if_empty,
        cheap_hash=s.password_hash_cheap,
        providers=providers,
        patients=patients,
        history_days=history_days,
    )
    if result.created:
        from careline.migrate import refresh_statistics

        refresh_statistics(s.database_url, vacuum=True)  # a bulk load: statistics for the planner
    typer.echo(result.summary())


@users_app.command("create")
@handles_errors
def users_create(
    email: Annotated[str, typer.Option(help="sign-in email")],
    name: Annotated[str, typer.Option(help="full name")],
    role: Annotated[str, typer.Option(help="agent, nurse, supervisor, practice_manager or admin")],
    tenant: Annotated[list[str] | None, typer.Option(help="tenant slug served (repeat)")] = None,
    password: Annotated[str | None, typer.Option(help="initial password (prompted when absent)")] = None,
) -> None:
    """Create a staff account."""
    from careline.accounts import service
    from careline.audit.service import Actor, record
    from careline.db import transaction

    s = settings()
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with transaction(session_factory(s)) as db:
        user = service.create_user(
            db,
            email=email,
            name=name,
            role=role,
            password=password,
            tenant_slugs=tenant or [],
            cheap_hash=s.password_hash_cheap,
        )
        record(db, Actor("cli"), "user.create", object_type="user", object_id=user.id)
    typer.echo(f"created user {user.id} {user.email} ({user.role})")


@users_app.command("list")
@handles_errors
def users_list(as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False) -> None:
    """List staff accounts."""
    from careline.accounts import service
    from careline.db import transaction

    with transaction(session_factory(settings())) as db:
        rows = [
            {
                "id": u.id,
                "email": u.email,
                "name": u.name,
                "role": str(u.role),
                "active": u.active,
                "tenants": [t.slug for t in u.tenants],
            }
            for u in service.list_users(db)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        state = "active" if r["active"] else "disabled"
        typer.echo(f"{r['id']:>4}  {r['email']:<36} {r['role']:<17} {state:<9} {','.join(r['tenants'])}")


def _set_active(email: str, active: bool) -> None:
    from careline.accounts import service
    from careline.audit.service import Actor, record
    from careline.db import transaction

    with transaction(session_factory(settings())) as db:
        user = service.user_by_email(db, email)
        service.set_active(db, user, active)
        record(
            db,
            Actor("cli"),
            "user.enable" if active else "user.disable",
            object_type="user",
            object_id=user.id,
        )


@users_app.command("disable")
@handles_errors
def users_disable(email: Annotated[str, typer.Argument(help="the user's email")]) -> None:
    """Disable an account; its sessions and tokens stop working in every app process."""
    _set_active(email, False)
    typer.echo(f"disabled {email}; their sessions are ended")


@users_app.command("enable")
@handles_errors
def users_enable(email: Annotated[str, typer.Argument(help="the user's email")]) -> None:
    """Re-enable an account."""
    _set_active(email, True)
    typer.echo(f"enabled {email}")


@users_app.command("set-password")
@handles_errors
def users_set_password(
    email: Annotated[str, typer.Argument(help="the user's email")],
    password: Annotated[str | None, typer.Option(help="new password (prompted when absent)")] = None,
) -> None:
    """Set a new password and end the user's sessions."""
    from careline.accounts import service
    from careline.audit.service import Actor, record
    from careline.db import transaction

    s = settings()
    if password is None:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    with transaction(session_factory(s)) as db:
        user = service.user_by_email(db, email)
        service.set_password(db, user, password, cheap_hash=s.password_hash_cheap)
        record(db, Actor("cli"), "user.set_password", object_type="user", object_id=user.id)
    typer.echo(f"password changed for {email}")


@audit_app.command("verify")
@handles_errors
def audit_verify() -> None:
    """Check the audit chain; exit 1 and name the rows when any were edited or deleted."""
    from careline.audit.service import verify_chain
    from careline.db import transaction

    with transaction(session_factory(settings())) as db:
        count, problems = verify_chain(db)
    if problems:
        for p in problems:
            typer.echo(f"TAMPERED: {p.message}", err=True)
        typer.echo(f"audit chain BROKEN: {len(problems)} problem(s) in {count} rows", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit chain OK: {count} rows verified")


@app.command()
@handles_errors
def match(
    tenant: Annotated[str, typer.Option(help="the client's slug")],
    need: Annotated[str | None, typer.Option(help='plain words: "knee pain", "my son\'s asthma"')] = None,
    zip_code: Annotated[str | None, typer.Option("--zip", help="home ZIP (or an address with one)")] = None,
    work_zip: Annotated[str | None, typer.Option(help="work ZIP (or an address with one)")] = None,
    patient: Annotated[int | None, typer.Option(help="patient id: places, plan, language, age")] = None,
    specialty: Annotated[str | None, typer.Option(help="a NUCC code or words instead of a need")] = None,
    insurance: Annotated[str | None, typer.Option(help="insurance plan name (or part of it)")] = None,
    language: Annotated[str | None, typer.Option(help="ISO 639-1 code or name (see --prefer)")] = None,
    prefer_language: Annotated[bool, typer.Option("--prefer", help="the language is only preferred")] = False,
    age: Annotated[int | None, typer.Option(min=0, max=130, help="the patient's age")] = None,
    gender: Annotated[str | None, typer.Option(help="preferred provider gender: f, m or nonbinary")] = None,
    telehealth: Annotated[bool, typer.Option("--telehealth", help="telehealth is acceptable")] = False,
    soonest: Annotated[bool, typer.Option("--soonest", help="rank the soonest opening higher")] = False,
    max_miles: Annotated[float | None, typer.Option(help="search radius in miles (default 15)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="how many to show")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output (the API's shape)")] = False,
) -> None:
    """Find a doctor: providers ranked for a need near home or work, with the reasons."""
    from careline.audit.service import Actor
    from careline.db import transaction
    from careline.matching import report
    from careline.matching.service import MatchRequest
    from careline.matching.service import match as run
    from careline.tenants.service import tenant_by_slug

    with transaction(session_factory(settings())) as db:
        request = MatchRequest(
            tenant_id=tenant_by_slug(db, tenant).id,
            need=need,
            specialty=specialty,
            zip=zip_code,
            work_zip=work_zip,
            patient_id=patient,
            insurance=insurance,
            language=language,
            language_required=not prefer_language,
            age=age,
            gender=gender,
            telehealth=telehealth,
            soonest=soonest,
            max_miles=max_miles,
            limit=limit,
        )
        result = run(db, request, actor=Actor("cli"))
    typer.echo(json.dumps(result.to_dict(), indent=2) if as_json else report.table(result))


# --------------------------------------------------------------------------- reports and staffing


@app.command()
@handles_errors
def staffing(
    tenant: Annotated[str, typer.Option(help="the client's slug")],
    week: Annotated[str, typer.Option(help="a day of the week to plan, e.g. 2026-12-07 (its Monday)")],
    target: Annotated[str, typer.Option(help="service level / answer seconds, e.g. 0.8/30")] = "0.8/30",
    interval: Annotated[int, typer.Option(help="interval minutes: 15, 30 or 60")] = 30,
    weeks: Annotated[int, typer.Option(help="weeks of history to average")] = 4,
    aht: Annotated[float | None, typer.Option(help="average handle time, seconds (default: history)")] = None,
    shrinkage: Annotated[float, typer.Option(help="share of scheduled time not on the phones")] = 0.3,
    max_occupancy: Annotated[float, typer.Option(help="highest share of time an agent is on calls")] = 0.85,
    simulate: Annotated[bool, typer.Option("--simulate", help="what-if simulation with hang-ups")] = False,
    patience: Annotated[float, typer.Option(help="mean seconds a caller waits before hanging up")] = 120.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
) -> None:
    """Agents needed per interval for a week: forecast from history, Erlang C, the roster, what-if."""
    from datetime import date

    from careline.db import transaction
    from careline.reports import staffing as plan_staffing

    level, seconds = plan_staffing.parse_target(target)
    try:
        day = date.fromisoformat(week)
    except ValueError:
        fail("--week must be a date like 2026-12-07")
        return
    with transaction(session_factory(settings())) as db:
        client = plan_staffing.tenant_by_slug(db, tenant)
        plan = plan_staffing.plan_week(
            db,
            client,
            day,
            target=plan_staffing.Target(level, seconds, max_occupancy, shrinkage),
            interval_minutes=interval,
            history_weeks=weeks,
            aht_s=aht,
        )
        if simulate:
            plan_staffing.what_if(plan, patience_s=patience)
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=2))
        return
    typer.echo(
        f"{plan.tenant_name}: week of {plan.week_start} ({plan.timezone}), {plan.interval_minutes}-minute "
        f"intervals, target {plan.target.label}, occupancy <= {plan.target.max_occupancy:.0%}, "
        f"shrinkage {plan.target.shrinkage:.0%}"
    )
    typer.echo(
        f"history: {plan.history_contacts} contacts {plan.history_start}..{plan.history_end} (exclusive); "
        f"AHT {plan.aht_s:.0f} s ({plan.aht_source})"
    )
    roster = "roster" if plan.has_roster else "no roster"
    typer.echo(f"{'interval':<16}{'calls':>7}{'agents':>8}{'required':>10}{'SL':>7}{'ASA s':>8}{roster:>11}")
    for i in plan.active_intervals():
        asa = "inf" if i.asa_s == float("inf") else f"{i.asa_s:.0f}"
        sched = "" if i.scheduled is None else f"{i.scheduled}{' SHORT' if i.short else ''}"
        typer.echo(
            f"{i.local_start:%a %m-%d %H:%M}  {i.forecast:>7.1f}{i.agents:>8}{i.required:>10}"
            f"{i.service_level:>7.0%}{asa:>8}{sched:>11}"
        )
    expected = plan.expected_service_level()
    typer.echo(
        f"total: {plan.forecast_total:.0f} contacts, {plan.required_hours:.1f} agent-hours required"
        + (f", {plan.scheduled_hours:.1f} scheduled" if plan.has_roster else " (no roster for this week)")
        + (f"; expected service level {expected:.1%}" if expected is not None else "")
    )
    if plan.has_roster and plan.expected_service_level(scheduled=True) is not None:
        typer.echo(f"with the roster (Erlang C): {plan.expected_service_level(scheduled=True):.1%}")
    if plan.what_if is not None and plan.what_if.service_level is not None:
        w = plan.what_if
        typer.echo(
            f"what-if ({w.staffing}, patience {w.patience_s:.0f} s, {w.replications} runs): service level "
            f"{w.service_level:.1%}, abandonment {w.abandonment_rate or 0:.1%}"
        )


@app.command()
@handles_errors
def report(
    tenant: Annotated[list[str], typer.Option(help="client slug, repeatable; none: all")] = [],  # noqa: B006
    start: Annotated[str | None, typer.Option("--from", help="first local date")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last local date, included")] = None,
    location: Annotated[int | None, typer.Option(help="location id")] = None,
    table: Annotated[str, typer.Option(help="summary, reasons, ... (docs/reports.md)")] = "summary",
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV instead of aligned text")] = False,
) -> None:
    """Print a dashboard table (the same figures as /reports) for clients and a date range."""
    from sqlalchemy import select

    from careline.db import transaction
    from careline.reports import dashboards
    from careline.tenants.models import Tenant

    if table not in dashboards.TABLE_NAMES:
        fail(f"--table must be one of: {', '.join(dashboards.TABLE_NAMES)}")
    with transaction(session_factory(settings())) as db:
        every = frozenset(db.scalars(select(Tenant.id)))
        sel = dashboards.resolve(
            db, every, supervisor=True, tenant=tenant, start=start, end=end, location=location
        )
        d = dashboards.build(db, sel)
        chosen = dashboards.tables(d, dashboards.by_client(db, sel)).get(table)
    if chosen is None:
        fail(f"the {table} table needs two or more clients")
        return
    if as_csv:
        typer.echo(chosen.csv(), nl=False)
        return
    typer.echo(f"{chosen.title}: {sel.label}")
    rows = [[c.header for c in chosen.columns], *chosen.display()]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@app.command()
@handles_errors
def simulate(
    calls_per_hour: Annotated[
        float, typer.Option(min=0.1, help="average calls in a weekday business hour, all clients together")
    ] = 60,
    hours: Annotated[float, typer.Option(min=0.01, help="how long to run live (real time)")] = 1.0,
    history: Annotated[
        int | None, typer.Option(min=1, max=400, help="instead: back-fill this many past days at once")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same traffic")] = 7,
    tenant: Annotated[
        list[str] | None, typer.Option(help="tenant slug (repeat); all tenants by default")
    ] = None,
    agents: Annotated[int | None, typer.Option(min=1, max=500, help="simulated staff (live)")] = None,
) -> None:
    """Simulated callers and agents from the demo world, so queues and reports show real figures."""
    from careline.queues import simulate as sim

    factory = session_factory(settings())
    if history is not None:
        typer.echo(f"back-filling {history} day(s) at {calls_per_hour:g} calls per busy hour...")
        result = sim.backfill_history(
            factory, days=history, calls_per_hour=calls_per_hour, seed=seed, tenants=tenant
        )
        typer.echo(result.summary())
        from careline.db import transaction
        from careline.demo.history import enrich_history

        with transaction(factory) as db:
            extra = enrich_history(db, seed=seed)
        typer.echo(
            f"{extra.new_patients} new patients registered, "
            f"{extra.surveys} surveys ({extra.answered} answered)"
        )
        return
    typer.echo(f"simulating {calls_per_hour:g} calls per busy hour for {hours:g} hour(s); Ctrl-C to stop")
    stats = sim.run_live(
        factory,
        calls_per_hour=calls_per_hour,
        hours=hours,
        seed=seed,
        tenants=tenant,
        agents=agents,
        report=lambda s: typer.echo(f"  arrived {s.arrived}, answered {s.answered}, abandoned {s.abandoned}"),
    )
    typer.echo(f"done: {stats.arrived} arrived, {stats.answered} answered, {stats.abandoned} abandoned")


def main() -> None:
    """Entry point of the console script."""
    app(prog_name="careline")


if __name__ == "__main__":
    sys.exit(main())
