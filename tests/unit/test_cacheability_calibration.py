"""`litellm-semcache calibrate --cacheability`: the filter measured on an operator's labelled questions, and
a calibration fitted to them (`--write-calibration`) that the classifier then uses."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from litellm_semcache.admission.calibration import CacheabilityCalibration, fit_general_shift, shifted
from litellm_semcache.admission.classifier import ClassifierStage
from litellm_semcache.cli.classify import classify
from litellm_semcache.cli.main import main
from litellm_semcache.errors import ConfigError
from litellm_semcache.models.cacheability import DecisionRule, Prediction
from litellm_semcache.policies import Policy, PolicyMatch
from litellm_semcache.settings import SemCacheSettings

# Support questions with general answers that the shipped text model keeps out, beside some it caches,
# and questions that must stay out.
GENERAL = [
    "Give me a sample user.",
    "When will my card be activated?",
    "Remove duplicates from this list: 1, 2, 2, 3",
    "How do I close my account?",
    "What is the capital of France?",
]
KEPT_OUT = [
    "What is my account balance?",
    "how much money do i earn",
    "when is my next meeting",
    "what's the weather in Paris tomorrow",
    "flip a coin",
    "show me my unread emails",
]


def _labelled(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "cacheable", "class"])
        writer.writerows([t, 1, "general"] for t in GENERAL)
        writer.writerows([t, 0, "private"] for t in KEPT_OUT)
    return path


def _rule() -> DecisionRule:
    return DecisionRule(
        {
            "version": "test",
            "classes": ["general", "private"],
            "cacheable_class": "general",
            "temperature": 1.0,
            "thresholds": {"general": 0.5, "private": 1.0},
        }
    )


def _cached(prediction: Prediction) -> bool:
    return prediction.cacheable


def test_a_shift_of_zero_changes_nothing_and_a_positive_one_favours_general() -> None:
    probabilities = np.array([[0.3, 0.7], [0.9, 0.1]], dtype=np.float32)
    assert np.allclose(shifted(probabilities, 0, 0.0), probabilities, atol=1e-6)
    moved = shifted(probabilities, 0, 1.0)
    assert np.allclose(moved.sum(axis=1), 1.0) and (moved[:, 0] > probabilities[:, 0]).all()


def test_the_fit_keeps_the_most_out_within_the_budget() -> None:
    # p(general) of two cacheable questions (0.2, 0.6) and two that must stay out (0.1, 0.45).
    general = np.array([0.2, 0.6, 0.1, 0.45], dtype=np.float32)
    probabilities = np.stack([general, 1 - general], axis=1)
    truth = [True, True, False, False]
    strict = fit_general_shift(_rule(), probabilities, truth, _cached, budget=0.5, shifts=[-1, 0, 1, 2, 3])
    # Shift 0 keeps out one cacheable question of two (within 50 %) and both others: the most kept out.
    assert strict.shift == 0
    none_lost = fit_general_shift(_rule(), probabilities, truth, _cached, budget=0.0, shifts=[-1, 0, 1, 2, 3])
    # Every cacheable question in: the smallest shift that admits 0.2 (logit -1.39) also admits 0.45.
    assert none_lost.shift == 2
    assert [row[1] for row in none_lost.table] == [1.0, 0.5, 0.5, 0.0, 0.0]


def test_no_shift_within_the_budget_when_a_rule_keeps_cacheable_questions_out() -> None:
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1]], dtype=np.float32)
    # A never-cache pattern keeps the first (cacheable) question out whatever the classifier says.
    fit = fit_general_shift(_rule(), probabilities, [True, False], _cached, budget=0.0, fixed=[False, None])
    assert fit.shift is None


def test_calibrate_prints_the_filters_confusion_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", "--cacheability", str(_labelled(tmp_path / "labelled.csv"))]) == 0
    out = capsys.readouterr().out
    verdicts = classify(GENERAL + KEPT_OUT, SemCacheSettings())
    cached_general = sum(v.cacheable for v in verdicts[: len(GENERAL)])
    kept_out_others = sum(not v.cacheable for v in verdicts[len(GENERAL) :])
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("cacheable"))
    assert row[1:] == [str(cached_general), str(len(GENERAL) - cached_general)]
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("not cacheable"))
    assert row[2:] == [str(len(KEPT_OUT) - kept_out_others), str(kept_out_others)]


def test_a_calibration_written_from_labels_is_what_the_classifier_then_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = classify(GENERAL, SemCacheSettings())
    assert not all(v.cacheable for v in before)  # the shipped decision loses some of them
    labelled = _labelled(tmp_path / "labelled.csv")
    status = main(
        [
            "calibrate",
            "--cacheability",
            str(labelled),
            "--write-calibration",
            "calibration.json",
            "--keep-out-budget",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    calibration = CacheabilityCalibration.load(tmp_path / "calibration.json")
    stage = ClassifierStage.from_settings(SemCacheSettings())
    assert stage is not None and calibration.model == stage.model.version
    assert calibration.general_shift > 0 and calibration.measured["cacheable_kept_out"] == 0.0
    # The proxy's settings name the file: every labelled general question is cached now, and the others
    # are kept out as often as the fit measured.
    settings = SemCacheSettings(cacheability_calibration=tmp_path / "calibration.json")
    after = classify(GENERAL + KEPT_OUT, settings)
    assert all(v.cacheable for v in after[: len(GENERAL)]), after
    kept_out = sum(not v.cacheable for v in after[len(GENERAL) :]) / len(KEPT_OUT)
    assert kept_out == pytest.approx(calibration.measured["others_kept_out"], abs=1e-3)
    assert "<- chosen" in out and "with the calibration:" in out
    # Entries admitted under the shipped decision carry another fingerprint: they are decided again.
    calibrated = ClassifierStage.from_settings(settings)
    assert calibrated is not None and calibrated.fingerprint != stage.fingerprint


def test_a_calibration_for_another_model_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    written = {"model": "cacheability-minilm-mlp-2", "general_shift": 1.0, "keep_out_budget": 0.05}
    path.write_text(json.dumps({**written, "source": "x"}))
    with pytest.raises(ConfigError, match="measured with cacheability-minilm-mlp-2.*recalibrate"):
        ClassifierStage.from_settings(SemCacheSettings(cacheability_calibration=path))
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot be read"):
        ClassifierStage.from_settings(SemCacheSettings(cacheability_calibration=path))


def test_write_calibration_needs_a_labelled_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", "--pairs", "x.csv", "--write-calibration", "c.json"]) == 2
    assert "--write-calibration needs --cacheability" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()


def test_doctor_names_the_calibration_or_what_is_wrong_with_it(tmp_path: Path) -> None:
    from litellm_semcache.cli.doctor import check_classifier

    path = tmp_path / "calibration.json"
    stage = ClassifierStage.from_settings(SemCacheSettings())
    assert stage is not None
    CacheabilityCalibration(
        model=stage.model.version, general_shift=1.5, keep_out_budget=0.05, source="x"
    ).write(path)
    found = check_classifier(SemCacheSettings(cacheability_calibration=path))
    assert found.status == "ok" and "general shift +1.50" in found.detail
    CacheabilityCalibration(model="another", general_shift=1.5, keep_out_budget=0.05, source="x").write(path)
    found = check_classifier(SemCacheSettings(cacheability_calibration=path))
    assert found.status == "problem" and "recalibrate" in found.detail
    assert "cacheability_calibration" in (found.fix or "")
    # A policy's own file is checked too: only that use case would cache nothing.
    policy = Policy(
        name="support", match=PolicyMatch(model_groups=["support-bot"]), cacheability_calibration=path
    )
    found = check_classifier(SemCacheSettings(policies=[policy]))
    assert found.status == "problem" and "policy support" in found.detail and "recalibrate" in found.detail


def test_a_policys_calibration_is_fitted_and_checked_under_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    labelled = _labelled(tmp_path / "labelled.csv")
    fit = ["calibrate", "--cacheability", str(labelled), "--keep-out-budget", "0"]
    assert main([*fit, "--write-calibration", "support.json", "--policy", "support"]) == 2  # not there yet
    assert "no policy named 'support'" in capsys.readouterr().err
    (tmp_path / "litellm_config.yaml").write_text(
        "litellm_semcache:\n"
        "  policies:\n"
        "    - name: support\n"
        "      match: {model_groups: [support-bot]}\n"
        "      keep_out_classes: [private, random]\n"
    )
    assert main([*fit, "--write-calibration", "support.json", "--policy", "support"]) == 0
    assert "set cacheability_calibration: support.json in policy support" in capsys.readouterr().out
    with open(tmp_path / "litellm_config.yaml", "a", encoding="utf-8") as config:
        config.write("      cacheability_calibration: support.json\n")
    question = "When will my card be activated?"
    assert main(["classify", question, "--json", "--policy", "support"]) == 0
    assert json.loads(capsys.readouterr().out)["cacheable"] is True
    assert main(["classify", question, "--json"]) == 0  # the block's own decision is untouched
    assert json.loads(capsys.readouterr().out)["cacheable"] is False


def test_the_embedding_head_is_fitted_with_one_embedder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each row is read alone, but the embedding model is loaded once per command, not once per row."""
    from litellm_semcache.cli import classify as classify_module
    from litellm_semcache.embedding import Embedder

    made: list[object] = []
    real = Embedder

    def counted(*args: object, **kwargs: object) -> object:
        made.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(classify_module, "Embedder", counted)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEMCACHE_CACHEABILITY_MODEL", "embedding")
    labelled = str(_labelled(tmp_path / "labelled.csv"))
    assert main(["calibrate", "--cacheability", labelled, "--write-calibration", "c.json"]) == 0
    assert len(made) == 2  # the fit's, then the confusion table's
    assert CacheabilityCalibration.load(tmp_path / "c.json").model == "cacheability-minilm-mlp-2"
