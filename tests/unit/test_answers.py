"""The answer comparison's rules (no model) and its shipped calibration against the benchmark's results."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from litellm_semcache.verification.answers import (
    CALIBRATION,
    AnswerComparator,
    answer_passages,
    numbers_disagree,
    polarity_disagrees,
)

ROOT = Path(__file__).resolve().parents[2]


class _NoModel:
    """The comparator's rules never need the embedder."""


def comparator() -> AnswerComparator:
    return AnswerComparator(_NoModel())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cached", "fresh", "different"),
    [
        ("Boil it for 6 minutes.", "Boil for 10 to 12 minutes.", True),
        ("100°F is about 37.8°C.", "100°C is 212°F.", False),  # share 100
        ("It has 206 bones.", "Adults have 206 bones; babies about 270.", False),
        ("Paris is the capital.", "The capital is Paris, since 987.", False),  # one side has no number
        ("It costs $1,000.", "It costs 1000 dollars.", False),
    ],
)
def test_numbers_that_share_nothing_disagree(cached: str, fresh: str, different: bool) -> None:
    assert numbers_disagree(cached, fresh) is different


def test_yes_and_no_disagree() -> None:
    assert polarity_disagrees("Yes, you can.", "No. Power banks are banned.")
    assert polarity_disagrees("Unfortunately not, we don't.", "Yes, we ship there.")
    assert not polarity_disagrees("Yes, you can.", "Yes: within limits.")
    assert not polarity_disagrees("Nobody knows.", "Yes.")  # "Nobody" is not "no"


def test_the_decision_rules_come_before_the_threshold() -> None:
    rules = comparator()
    assert rules.decide("Same  text.", "Same text.", 0.0).reason == "same_text"
    assert rules.decide("Boil it for 6 minutes.", "Boil it 10 minutes.", 0.99).reason == "numbers"
    assert rules.decide("Yes, it is.", "No, it is not.", 0.99).reason == "yes_no"
    assert rules.decide("a", "b", CALIBRATION.threshold).agree
    assert not rules.decide("a", "b", CALIBRATION.threshold - 0.01).agree
    assert AnswerComparator(_NoModel(), threshold=0.9).decide("a", "b", 0.85).verdict == "disagree"  # type: ignore[arg-type]


def test_long_answers_are_cut_into_passages_the_model_reads_whole() -> None:
    sentence = "This sentence has exactly eight words in it. "
    passages = answer_passages(sentence * 60)
    assert 1 < len(passages) <= 8
    assert all(len(p.split()) <= 120 for p in passages)
    assert answer_passages("one line without a stop " * 100)[0].count(" ") == 119
    assert answer_passages("Short answer.") == ["Short answer."]


def test_the_shipped_calibration_is_the_benchmarks() -> None:
    results = json.loads((ROOT / "benchmarks" / "results" / "answers.json").read_text())
    measured = results["calibration"]
    assert measured["threshold"] == CALIBRATION.threshold
    assert measured["false_agree"] == round(CALIBRATION.false_agree, 4)
    assert measured["false_disagree"] == round(CALIBRATION.false_disagree, 4)
    assert measured["pairs"] == CALIBRATION.pairs


def test_the_answer_pairs_are_split_by_group() -> None:
    with open(ROOT / "benchmarks" / "data" / "answer_pairs.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 300
    splits: dict[str, set[str]] = {}
    for row in rows:
        splits.setdefault(row["group"], set()).add(row["split"])
    assert all(len(s) == 1 for s in splits.values())  # no question on both sides
    assert {r["same"] for r in rows} == {"0", "1"}
