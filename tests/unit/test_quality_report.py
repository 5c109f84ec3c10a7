"""The quality benchmark's report: the committed Markdown is the committed run rendered, and each target's
precision carries its interval."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.quality_report import markdown, targets
from litellm_semcache.ops.estimates import wilson_interval

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def test_the_committed_report_is_the_committed_run_rendered() -> None:
    report = json.loads((RESULTS / "quality.json").read_text(encoding="utf-8"))
    assert (RESULTS / "quality.md").read_text(encoding="utf-8") == markdown(report)


def test_each_targets_precision_states_its_interval() -> None:
    report = json.loads((RESULTS / "quality.json").read_text(encoding="utf-8"))
    new = next(name for name in report["rows"]["test"] if name.startswith("new default"))
    measured = {name: text for name, _, text, _ in targets(report)}
    for name in ("Banking77", "CLINC150 (+oos)", "Quora pairs"):
        row = report["rows"]["test"][new][name]
        low, high = wilson_interval(row["correct"], row["hits"])
        assert low < row["precision"] < high
        assert f"({low:.1%}–{high:.1%})" in measured[name], measured[name]
