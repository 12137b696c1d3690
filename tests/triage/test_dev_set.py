"""A floor on the labelled development set: recall, kind agreement and false positives.

The dev set is for development, not an exam: these bounds catch regressions in the general rules.
Measured when written: recall 43/43, kind agreement 43/43, false positives 0/117.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from careline.triage.rules import screen

RECALL_FLOOR = 0.95
KIND_AGREEMENT_FLOOR = 0.90
FALSE_POSITIVE_CEILING = 0.05


def _dev_set() -> Path:
    # The project's copy (tests/data) unless a newer shared one is named.
    root = Path(os.environ.get("CARELINE_SHARED", Path(__file__).resolve().parents[1]))
    return root / "data" / "dev-utterances.jsonl"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    path = _dev_set()
    if not path.exists():
        pytest.skip(f"dev set not found at {path}")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_dev_set_meets_the_recall_kind_and_false_positive_floor(rows: list[dict]) -> None:
    flagged = [r for r in rows if r["red_flag"]]
    clean = [r for r in rows if not r["red_flag"]]
    results = {r["id"]: screen(r["text"]) for r in rows}
    caught = [r for r in flagged if results[r["id"]].red_flags]
    same_kind = [r for r in caught if results[r["id"]].kind == r["red_flag_kind"]]
    false_pos = [r["id"] for r in clean if results[r["id"]].red_flags]
    recall = len(caught) / len(flagged)
    agreement = len(same_kind) / len(caught)
    fp_rate = len(false_pos) / len(clean)
    print(
        f"recall {recall:.3f} ({len(caught)}/{len(flagged)}), kind agreement {agreement:.3f}, "
        f"false positives {fp_rate:.3f} ({len(false_pos)}/{len(clean)}): {false_pos}"
    )
    assert recall >= RECALL_FLOOR, [r["id"] for r in flagged if r not in caught]
    assert agreement >= KIND_AGREEMENT_FLOOR, [r["id"] for r in caught if r not in same_kind]
    assert fp_rate <= FALSE_POSITIVE_CEILING, false_pos
