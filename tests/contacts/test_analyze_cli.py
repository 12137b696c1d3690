"""`careline analyze`: one text or a JSONL file, readable or JSON, with clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from careline.cli import app

runner = CliRunner()


def test_it_prints_red_flags_and_intents_as_json() -> None:
    result = runner.invoke(
        app, ["analyze", "move my thursday visit, my chest has felt crushed since 6 am", "--json"]
    )
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["disposition"] == "emergency"
    assert [f["kind"] for f in body["red_flags"]] == ["cardiac"]
    assert set(body["intents"]) >= {"reschedule", "clinical"}
    assert {"kind", "evidence", "rule"} <= set(body["red_flags"][0])


def test_age_changes_the_answer_for_an_infant_fever() -> None:
    infant = runner.invoke(app, ["analyze", "she has a fever of 100.8", "--age", "0.1", "--json"])
    adult = runner.invoke(app, ["analyze", "she has a fever of 100.8", "--age", "30", "--json"])
    assert json.loads(infant.output)["red_flags"][0]["kind"] == "pediatric_fever"
    assert json.loads(adult.output)["red_flags"] == []


def test_it_reads_jsonl_and_keeps_each_id(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "text": "where do I park"},
        {"id": "b", "text": "my dad's face is drooping", "age": 70},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = runner.invoke(app, ["analyze", "--jsonl", str(src)])
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [(o["id"], o["disposition"]) for o in out] == [("a", "none"), ("b", "emergency")]
    assert out[0]["intents"] == ["location_info"]


def test_bad_input_gives_an_error_line_and_exit_2(tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n')
    result = runner.invoke(app, ["analyze", "--jsonl", str(bad)])
    assert (
        result.exit_code == 2 and 'bad.jsonl:1: expected a JSON object with a "text" field' in result.output
    )
    assert runner.invoke(app, ["analyze"]).exit_code == 2
    assert runner.invoke(app, ["analyze", "hello", "--sex", "x"]).exit_code == 2


def test_readable_output_names_the_evidence() -> None:
    result = runner.invoke(
        app, ["analyze", "the redness around the spider bite keeps spreading and I have chills"]
    )
    assert result.exit_code == 0
    assert "RED FLAG sepsis_infection" in result.output and "disposition: emergency" in result.output
