"""The cacheability benchmark's report: the committed Markdown is the committed run rendered, the worst
intents count the wrong decisions a reader would, and the README's trade-off numbers are the run's."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.cacheability import markdown, worst_intents

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


def test_the_committed_report_is_the_committed_run_rendered() -> None:
    report = json.loads((RESULTS / "cacheability.json").read_text(encoding="utf-8"))
    assert (RESULTS / "cacheability.md").read_text(encoding="utf-8") == markdown(report)


def test_worst_intents_count_general_kept_out_and_the_others_let_in() -> None:
    rows = [
        ("how do I change my PIN", "general", "pin_change"),
        ("change my pin please", "general", "pin_change"),
        ("what's my balance", "private", "balance"),
        ("roll a die", "random", "roll_dice"),
        ("what is a PIN", "general", "definition"),
    ]
    cached = [False, False, True, False, True]  # both PIN questions kept out, the balance let in

    worst = worst_intents(rows, cached)

    assert worst == [
        {"intent": "pin_change", "class": "general", "wrong": 2, "n": 2},
        {"intent": "balance", "class": "private", "wrong": 1, "n": 1},
    ]  # right decisions (the die kept out, the definition cached) are not listed


def test_the_readme_quotes_the_committed_trade_off() -> None:
    report = json.loads((RESULTS / "cacheability.json").read_text(encoding="utf-8"))
    clinc = {row["shift"]: row for row in report["trade_off"]["CLINC150 test"]}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    private_at_90 = clinc[-0.5]
    general_at_3 = clinc[5.25]
    assert private_at_90["private"]["kept_out"] >= 0.9
    assert general_at_3["general"]["kept_out"] <= 0.03
    assert f"keeps out {private_at_90['general']['kept_out']:.1%} of its general ones" in readme
    assert f"lets {1 - general_at_3['private']['kept_out']:.0%} of private ones" in readme.replace("\n", " ")
