"""careline match: a readable table by default, the API's JSON with --json, errors as one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from careline.cli import app as cli


@pytest.fixture
def run(monkeypatch, database_url: str, chicago):
    monkeypatch.setenv("CARELINE_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def test_a_readable_table(run) -> None:
    result = run(
        "match", "--tenant", "tenant-a", "--need", "knee pain", "--zip", "60302", "--work-zip", "60601"
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Looking for orthopedics") and 'from "knee pain"' in lines[0]
    assert "provider" in lines[1] and "distance" in lines[1] and "next opening" in lines[1]
    assert "Olivia Ortiz, MD" in lines[3] and "0.0 mi work" in lines[3]
    assert "0.0 mi from work · sees knee pain" in lines[4]


def test_json_is_the_api_shape(run, chicago) -> None:
    result = run(
        "match",
        "--tenant",
        "tenant-a",
        "--need",
        "need a physical",
        "--zip",
        "60614",
        "--language",
        "es",
        "--age",
        "40",
        "--gender",
        "f",
        "--insurance",
        "Aetna PPO",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert [r["provider_id"] for r in body["results"]] == [chicago.doc["fiona"]]
    assert body["results"][0]["reasons"][:2] == ["speaks Spanish", "accepts Aetna PPO"]
    assert body["need"]["age_group"] == "adult"


def test_an_empty_list_and_the_relaxations(run) -> None:
    result = run(
        "match",
        "--tenant",
        "tenant-a",
        "--specialty",
        "dermatology",
        "--zip",
        "60601",
        "--language",
        "es",
        "--max-miles",
        "10",
    )
    assert result.exit_code == 0, result.output
    assert "Nobody: no Spanish-speaking dermatology provider within 10 mi of home." in result.output
    assert "- 1 within 25 mi  [max_miles=25.0]" in result.output


def test_errors_are_one_line_and_exit_2(run) -> None:
    bad_zip = run("match", "--tenant", "tenant-a", "--need", "knee pain", "--zip", "00000")
    assert bad_zip.exit_code == 2 and bad_zip.output.startswith("error: unknown ZIP code")
    no_tenant = run("match", "--tenant", "nope", "--need", "knee pain", "--zip", "60614")
    assert no_tenant.exit_code == 2 and "no tenant 'nope'" in no_tenant.output
