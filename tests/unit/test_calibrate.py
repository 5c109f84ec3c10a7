"""`litellm-semcache calibrate`: on a slice of Banking77 and on labelled pairs, and the same decision as
the live proxy for the same pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from litellm_semcache.cli.main import main
from litellm_semcache.evaluation import Row, recommend
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.verification.decision import Verification
from litellm_semcache.verification.profile import CalibrationProfile

DATA = Path(__file__).resolve().parents[1] / "data"
HARD_CASES = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "hard_cases.csv"


def test_recommend_picks_the_most_hits_at_the_target_precision() -> None:
    rows = [
        Row(0.80, 0.9, 0.95, 0.9, 0.9, 90, 85),
        Row(0.85, 0.7, 0.991, 0.7, 0.8, 70, 69),
        Row(0.90, 0.5, 0.995, 0.5, 0.6, 50, 49),
    ]
    assert recommend(rows, 0.99) == rows[1]
    assert recommend(rows, 0.999) is None


def test_calibrate_on_a_slice_of_banking77(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    status = main(
        [
            "calibrate",
            "--cache",
            str(DATA / "banking77_train_slice.csv"),
            "--queries",
            str(DATA / "banking77_test_slice.csv"),
            "--target-precision",
            "0.9",
            "--plot",
            "plot.png",
            "--json",
            "result.json",
            "--write-profile",
            "profile.json",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert set(result["profiles"]) == {"threshold only", "contrast guard"}
    rows = result["profiles"]["threshold only"]
    assert [r["threshold"] for r in rows] == sorted(r["threshold"] for r in rows)
    assert rows[0]["hit_rate"] >= rows[-1]["hit_rate"]  # a stricter threshold never hits more
    assert result["recommended"]["precision"] >= 0.9  # the best rules-only pipeline
    assert "recommended: target_precision 0.9 (learned verifier: gate" in out
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the written profile is what the proxy reads: its gates reach the target on these data
    profile = CalibrationProfile.load(tmp_path / "profile.json")
    gates = profile.gates(0.9)
    name = str(DATA / "banking77_test_slice.csv")
    assert gates.measured[f"{name}_precision"] >= 0.9
    settings = SemCacheSettings(calibration_profile=tmp_path / "profile.json", target_precision=0.9)
    verification = Verification.from_settings(settings)
    assert verification.unavailable is None and verification.gates == gates


def test_calibrate_on_labelled_pairs_reports_false_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "\n".join(
            json.dumps(p)
            for p in [
                {
                    "a": "Convert 100 Fahrenheit to Celsius",
                    "b": "Convert 100 Celsius to Fahrenheit",
                    "same": 0,
                },
                {
                    "a": "What is the minimum password length?",
                    "b": "What is the maximum password length?",
                    "same": 0,
                },
                {
                    "a": "How do I reset my password?",
                    "b": "I forgot my password, how do I change it?",
                    "same": 1,
                },
                {"a": "What's the capital of France?", "b": "what is the capital city of france", "same": 1},
            ]
        )
    )
    assert (
        main(
            ["calibrate", "--pairs", str(pairs), "--json", "r.json", "--quiet", "--target-precision", "0.99"]
        )
        == 0
    )
    result = json.loads((tmp_path / "r.json").read_text())
    plain = {r["threshold"]: r for r in result["profiles"]["threshold only"]}
    guarded = {r["threshold"]: r for r in result["profiles"]["contrast guard"]}
    assert plain[0.85]["false_match_rate"] == 1.0  # both minimal edits score above 0.85 by meaning
    assert guarded[0.85]["false_match_rate"] == 0.0  # the guard refuses both
    assert result["recommended"]["profile"] == "contrast guard"
    assert "false matches" in capsys.readouterr().out


def test_a_pairs_file_without_labels_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\nhello,hi\n")
    assert main(["calibrate", "--pairs", str(bad), "--quiet"]) == 2
    assert "needs `a`, `b` and `same`" in capsys.readouterr().err
