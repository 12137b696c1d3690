"""The careline command: clear errors and exit codes, user management, an idempotent demo."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from careline.accounts.models import User
from careline.cli import app as cli
from careline.tenants.models import Tenant


@pytest.fixture
def run(monkeypatch, database_url: str, engine):
    monkeypatch.setenv("CARELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("CARELINE_PASSWORD_HASH_CHEAP", "true")
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def test_demo_seeds_once_and_is_idempotent_with_if_empty(run, db) -> None:
    first = run("demo", "--if-empty")
    assert first.exit_code == 0, first.output
    assert "demo data seeded" in first.output and "agent@careline.demo" in first.output
    again = run("demo", "--if-empty")
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert db.scalar(select(func.count()).select_from(Tenant)) == 3
    refused = run("demo")
    assert refused.exit_code == 2 and refused.output.startswith("error: ")


def test_users_create_list_disable(run, db, world) -> None:
    made = run(
        "users",
        "create",
        "--email",
        "cli@test.example",
        "--name",
        "Cli User",
        "--role",
        "nurse",
        "--tenant",
        "tenant-a",
        "--password",
        "long-enough-pw",
    )
    assert made.exit_code == 0, made.output
    listed = run("users", "list")
    assert "cli@test.example" in listed.output and "nurse" in listed.output
    assert run("users", "disable", "cli@test.example").exit_code == 0
    assert db.scalar(select(User.active).where(User.email == "cli@test.example")) is False


def test_bad_cli_input_prints_one_error_line_and_exits_2(run, world) -> None:
    bad_role = run(
        "users",
        "create",
        "--email",
        "x@test.example",
        "--name",
        "X",
        "--role",
        "wizard",
        "--tenant",
        "tenant-a",
        "--password",
        "long-enough-pw",
    )
    assert bad_role.exit_code == 2 and "unknown role 'wizard'" in bad_role.output
    short = run(
        "users",
        "create",
        "--email",
        "y@test.example",
        "--name",
        "Y",
        "--role",
        "agent",
        "--tenant",
        "tenant-a",
        "--password",
        "short",
    )
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    unknown = run("users", "disable", "ghost@test.example")
    assert unknown.exit_code == 2 and "no user with email" in unknown.output


def test_bad_settings_fail_fast_with_the_variable_named(monkeypatch) -> None:
    monkeypatch.setenv("CARELINE_DATABASE_URL", "mysql://nope")
    result = CliRunner().invoke(cli, ["users", "list"])
    assert result.exit_code == 2 and "CARELINE_DATABASE_URL" in result.output
